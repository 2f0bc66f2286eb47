# Shortcuts for people who have make; the scripts in ops/scripts are the source of truth.
.PHONY: run test test-quick lint bench soak bench-maintenance bench-market-data bench-portfolio bench-trading bench-bots bench-console schemas

run:
	bash ops/scripts/run.sh

test:
	bash ops/scripts/test.sh

test-quick:
	bash ops/scripts/test.sh -m "not slow"

lint:
	bash ops/scripts/setup.sh && .venv/bin/ruff check . && .venv/bin/mypy

bench:
	EXTRAS=dev,bench bash ops/scripts/setup.sh && bash ops/scripts/ensure-services.sh && .venv/bin/python -m bench.run

soak:
	EXTRAS=dev,bench bash ops/scripts/setup.sh && bash ops/scripts/ensure-services.sh && .venv/bin/python -m bench.soak

bench-maintenance:
	bash ops/scripts/setup.sh && bash ops/scripts/ensure-services.sh && .venv/bin/python -m bench.maintenance

bench-portfolio:
	bash ops/scripts/setup.sh && bash ops/scripts/ensure-services.sh && .venv/bin/python -m bench.portfolio

bench-trading:
	bash ops/scripts/setup.sh && bash ops/scripts/ensure-services.sh && .venv/bin/python -m bench.trading

bench-bots:
	bash ops/scripts/setup.sh && bash ops/scripts/ensure-services.sh && .venv/bin/python -m bench.bots

bench-console:
	bash ops/scripts/setup.sh && bash ops/scripts/ensure-services.sh && .venv/bin/python -m bench.console

bench-market-data:
	bash ops/scripts/setup.sh && bash ops/scripts/ensure-services.sh && .venv/bin/python -m bench.market_data

schemas:
	.venv/bin/tickwork contract export --out docs/schemas
