// fast-check values for the arena's round-trip tests: given an arbitrary of binary leaves, any
// nesting of them with primitives in arrays, plain objects, Maps (leaves as keys too) and Sets,
// the containers structured cloning walks.
import fc from 'fast-check';

export const primitiveArbitrary = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.string(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.bigInt(),
);

export function nestedValueArbitrary(leafArbitrary: fc.Arbitrary<object>): fc.Arbitrary<unknown> {
  return fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leafArbitrary,
      primitiveArbitrary,
      fc.array(tie('value'), { maxLength: 5 }),
      fc.dictionary(fc.string({ maxLength: 6 }), tie('value'), {
        maxKeys: 5,
        noNullPrototype: true,
      }),
      fc
        .array(fc.tuple(fc.oneof(fc.string(), leafArbitrary), tie('value')), { maxLength: 3 })
        .map((entries) => new Map(entries)),
      fc.array(tie('value'), { maxLength: 3 }).map((members) => new Set(members)),
    ),
  })).value;
}
