// main() of tileconv_host_tests: plain Catch2 session, no GPU needed.
#define TILECONV_CATCH_MAIN
#include "catch.hpp"

int main(int argc, char* argv[]) { return Catch::Session().run(argc, argv); }
