# The two set-up commands of the README. Each installs what it needs into .venv on first use.
# The demo input ships with the repository: eight PRC statutes (origin and licence: examples/README.md).
DEMO_INPUT ?= examples/law_zh
DEMO_OUT ?= out/demo
DEMO_CHUNKS ?= 6

.PHONY: demo test

demo:  ## build a small law dataset with the embedded Qwen2.5-Coder-1.5B
	scripts/setup.sh embedded,model-qwen-1_5b
	@# exit 3 = partial: the dataset was written and the failed items are listed; anything else non-zero fails.
	.venv/bin/ftds-agent build --domain law --input $(DEMO_INPUT) --out $(DEMO_OUT) --max-chunks $(DEMO_CHUNKS) --overwrite; \
	code=$$?; [ $$code -eq 3 ] && echo "partial result: see the failures above and in $(DEMO_OUT)/report.json"; \
	[ $$code -eq 0 ] || [ $$code -eq 3 ]

test:  ## lint, type-check and run the whole test suite (incl. one run of the real embedded 0.5B model)
	scripts/setup.sh dev,embedded,model-qwen-0_5b
	scripts/setup-test-extras.sh
	scripts/check.sh
