// The scene's rates: a 1 kHz control loop, a policy asked 100 times a second, a 60 Hz camera.
export const kLoopHz = 1000;
export const kPolicyHz = 100;
export const kCameraHz = 60;
