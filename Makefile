# The two commands of the README, plus a few for developers. Each needs only python3.
PYTHON ?= python3

.PHONY: run test lint assets bench-grading bench-live-quiz bench-symbolic

# LAN=1: classroom mode, phones on the room's network join (LAN=<address> picks the address).
LAN_FLAG = $(if $(filter 1 yes true on,$(LAN)),--lan,$(if $(LAN),--lan-address $(LAN)))

run:            ## serve the embedded site on http://127.0.0.1:8000 with a grading worker (LAN=1: for a room; DEBUG=true to debug)
	$(PYTHON) scripts/dev.py run $(LAN_FLAG)

test:           ## run the whole test suite
	$(PYTHON) scripts/dev.py test $(PYTEST_ARGS)

lint:
	.venv/bin/ruff check .

assets:         ## rebuild static/vendor from frontend/package-lock.json (needs node and npm)
	cd frontend && npm ci && npm run build

bench-grading:  ## grading latency and throughput, warm against cold (JSON; see docs/benchmarks.md)
	.venv/bin/python bench/grading.py

bench-live-quiz: ## N simulated players in a live game over real WebSockets and the machine's own limit (JSON)
	.venv/bin/python bench/live_quiz.py --players 2000

bench-symbolic: ## math answers over tests/data/check_answers.jsonl: agreement, time per verdict and preview (JSON)
	.venv/bin/python bench/symbolic.py
