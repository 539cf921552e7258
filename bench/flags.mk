# Read together with the Makefile (make -f Makefile -f bench/flags.mk ...)
# so that bench/run.sh compiles the benchmarks with exactly the project's
# flags without a rule in the Makefile itself.
bench-cflags:
	@echo '$(CFLAGS)'
bench-ldlibs:
	@echo '$(LDLIBS)'
