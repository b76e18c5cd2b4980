# Aliases for ./dev (see it for what each does).
.PHONY: demo test bench stop wipe psql
demo test bench stop wipe psql:
	@./dev $@
