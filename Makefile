# Aliases for ./dev (see it for what each does).
.PHONY: demo test bench package stop wipe psql
demo test bench package stop wipe psql:
	@./dev $@
