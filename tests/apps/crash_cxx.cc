// Test app (C++): throws and catches 1000 exceptions, prints "caught=N".
#include <cstdio>
#include <stdexcept>

static int __attribute__((noinline)) thrower(int i)
{
	if (i >= 0)
		throw std::runtime_error("boom");
	return i;
}

int main()
{
	int caught = 0;
	for (int i = 0; i < 1000; i++) {
		try {
			thrower(i);
		} catch (const std::runtime_error &) {
			caught++;
		}
	}
	std::printf("caught=%d\n", caught);
	return caught == 1000 ? 0 : 1;
}
