/* A stand-in for the NVIDIA driver library (libcuda.so.1) for the device-loader tests: it reports
   one device, so that linreg goes on to load its GPU module, whose CUDA runtime then finds none of
   the other driver entry points it needs and must report the GPU unusable. Test builds only. */
int cuInit(unsigned flags) {
  (void)flags;
  return 0;
}
int cuDeviceGetCount(int* count) {
  *count = 1;
  return 0;
}
int cuGetErrorName(int status, const char** name) {
  (void)status;
  *name = "CUDA_ERROR_NOT_SUPPORTED";
  return 0;
}
