// Compiles and links against an installed tileconv: the umbrella header, a Status string, a problem description.
#include <tileconv/tileconv.cuh>

#include <cstdio>

int main() {
  tileconv::Conv2dProblem problem;
  problem.batch = 1;
  problem.in_channels = 3;
  problem.in_h = 32;
  problem.in_w = 32;
  problem.out_channels = 8;
  problem.filter_h = 3;
  problem.filter_w = 3;
  std::printf("tileconv_consumer: %s, output %lldx%lld\n", tileconv::to_string(tileconv::Status::kSuccess),
              static_cast<long long>(problem.out_h()), static_cast<long long>(problem.out_w()));
  return 0;
}
