# The workbook's commands. Each one sets up what it needs first (scripts/setup.sh).
.PHONY: workbook workbook-headless test emulator-start emulator-stop emulator-reset bench

workbook:           ## JupyterLab with the emulator started
	bash scripts/workbook.sh

workbook-headless:  ## execute every notebook with papermill into output/ (+ HTML, summary); TARGET=azure on a VM
	bash scripts/workbook.sh --headless

test:               ## set up and run all tests
	bash scripts/test.sh

emulator-start:
	.venv/bin/azure-emulator start
emulator-stop:
	.venv/bin/azure-emulator stop
emulator-reset:
	.venv/bin/azure-emulator reset

bench:              ## print performance figures (not part of the tests)
	.venv/bin/python bench/bench_imds.py
	.venv/bin/python bench/sql_bench.py
	.venv/bin/python bench/sql_memory.py
	.venv/bin/python bench/datalake_gen1_bench.py
	.venv/bin/python bench/datalake_gen2_bench.py
	.venv/bin/python bench/keyvault_bench.py
	.venv/bin/python bench/bench_memory.py
	.venv/bin/python bench/storage_bench.py
