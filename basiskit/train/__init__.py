"""Training: the loop, checkpoints, run context and distributed helpers. Imports no model family."""
from .batchnorm import batchnorm_layers, recalibrate_batchnorm
from .callbacks import BestCheckpoint, Callback, CSVLogger, EarlyStopping, StepHook, TensorBoardLogger, TrainState
from .checkpoint import latest_checkpoint, load_checkpoint, load_model, save_checkpoint
from .context import RunContext, seed_everything
from .lbfgs import LBFGS
from .loop import FitResult, TrainingDiverged, fit, make_optimizer, make_scheduler
from .online import (OnlineResult, ProcessBackend, RayBackend, SerialBackend, SimulationBackend, SimulationStream,
                     UniformParameters, make_backend, stream_throughput, train_online)
from .online_buffers import BUFFERS, FIROBuffer, OnlineBuffer, ReservoirBuffer, SeenReservoirBuffer, make_buffer

__all__ = ["BUFFERS", "BestCheckpoint", "CSVLogger", "Callback", "EarlyStopping", "FIROBuffer", "FitResult", "LBFGS",
           "OnlineBuffer", "OnlineResult", "ProcessBackend", "RayBackend", "ReservoirBuffer", "RunContext",
           "SeenReservoirBuffer", "SerialBackend", "SimulationBackend", "SimulationStream", "StepHook",
           "TensorBoardLogger", "TrainState", "TrainingDiverged", "UniformParameters", "batchnorm_layers", "fit",
           "latest_checkpoint", "load_checkpoint", "load_model", "make_backend", "make_buffer", "make_optimizer",
           "make_scheduler", "recalibrate_batchnorm", "save_checkpoint", "seed_everything", "stream_throughput",
           "train_online"]
