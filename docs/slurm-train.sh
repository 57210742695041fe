#!/bin/bash
# Train the colorizer on several Slurm nodes: one process per node, each using every GPU of its node
# (train.distribute: data_parallel; docs/scaling-out.md, "Several machines").
#
#   sbatch --nodes=4 docs/slurm-train.sh      # from the project folder, after `git pull` and `dvc pull`
#
# The project folder is the submission folder on every node (a shared file system), or the same path in each
# node's own checkout of the same commit with the same data. Only the chief (the first node) writes there.
#SBATCH --job-name=colorizer-train
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=1          # set to the GPUs of a node: its one process uses them all
#SBATCH --time=24:00:00
#SBATCH --output=colorizer-train-%j.log
set -euo pipefail

export KERAS_BACKEND=jax
export KERAS_DISTRIBUTION_NUM_PROCESSES="$SLURM_NNODES"
export KERAS_DISTRIBUTION_JOB_ADDRESSES="$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1):${COLORIZER_PORT:-12345}"

# --kill-on-bad-exit: when one process fails, Slurm ends the others too (they also stop by themselves).
srun --kill-on-bad-exit=1 bash -c '
  set -euo pipefail
  cd "$SLURM_SUBMIT_DIR" && . .venv/bin/activate
  export KERAS_DISTRIBUTION_PROCESS_ID="$SLURM_PROCID"
  if [ "$SLURM_PROCID" = 0 ]; then
    dvc repro train
  else
    python -m stages.train data/prepared models/start models/network.keras models/mlflow-run.json metrics/train.json metrics/history.csv
  fi'
