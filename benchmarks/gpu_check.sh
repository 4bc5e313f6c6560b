#!/usr/bin/env bash
# The GPU checks as one prepared script, for a lent accelerator machine whose python3 has torch,
# numpy, pandas, numba and pytest (no Streamlit, SQLAlchemy or pytest-xdist: hence no conftest and no
# addopts). From the repository root:
#
#   bash benchmarks/gpu_check.sh
#
# 1. the device-parametrised tests: the engine on every device equals torch.optim on the CPU; the
#    tensor loop's CUDA graph replays equal its eager launches bit for bit; the GPU lesson's round
#    trip and timings; the engine's timing within each device's limit on samples;
# 2. benchmarks/bench_devices.py: the plain training step and the lab's engine, CPU against each
#    accelerator, with speed-ups, and on CUDA the tensor loop's launches (graphs or not) against the
#    CPU (record its tables in the issue's note).
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD:$PWD/tests"
python3 -c "import torch; print('torch', torch.__version__, '| cuda:', torch.cuda.is_available())"
pytest() { python3 -m pytest --noconftest -o addopts="" -p no:cacheprovider -q -rs "$@"; }
pytest "tests/test_engine.py::test_every_device_this_machine_has_equals_torch_optim_on_the_cpu" tests/test_tensor_loop.py
tests=$?
pytest tests/test_lessons.py -k "device or engine or step_time or measure" || tests=1
python3 benchmarks/bench_devices.py
bench=$?
echo "tests exit $tests, bench exit $bench"
exit $((tests || bench))
