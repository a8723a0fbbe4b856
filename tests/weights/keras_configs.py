"""Keras configs as Keras 3 saves them (module, class_name, config, registered_name)."""

from __future__ import annotations

from typing import Any


def k3_layer(class_name: str, config: dict[str, Any], module: str = "keras.layers") -> Any:
    return {"module": module, "class_name": class_name, "config": config, "registered_name": None}


DENSE = k3_layer(
    "Dense",
    {
        "name": "dense",
        "trainable": True,
        "dtype": {
            "module": "keras",
            "class_name": "DTypePolicy",
            "config": {"name": "float32"},
            "registered_name": None,
        },
        "units": 4,
        "activation": "relu",
        "kernel_initializer": {
            "module": "keras.initializers",
            "class_name": "GlorotUniform",
            "config": {"seed": None},
            "registered_name": None,
        },
    },
)
K3_LAMBDA = k3_layer(
    "Lambda",
    {
        "name": "lambda",
        "function": {
            "class_name": "__lambda__",
            "config": {
                "code": "4wEAAAAAAAAAAAAAAAEAAAADAAAA8wYAAACXAHwAUwCpAU6pAKkB2gF4cwEAAAAg",
                "defaults": None,
                "closure": None,
            },
        },
        "arguments": {},
    },
)


def keras3_model(*layers: Any) -> dict[str, Any]:
    inner = k3_layer(
        "Functional",
        {"name": "inner", "layers": list(layers)},
        module="keras.src.models.functional",
    )
    inner["registered_name"] = "Functional"
    return {
        "module": "keras",
        "class_name": "Sequential",
        "config": {"name": "sequential", "layers": [DENSE, inner]},
        "registered_name": None,
        "compile_config": {
            "optimizer": {
                "module": "keras.optimizers",
                "class_name": "Adam",
                "config": {"learning_rate": 0.001},
                "registered_name": None,
            },
            "loss": {
                "module": "keras.losses",
                "class_name": "function",
                "config": "mse",
                "registered_name": "mse",
            },
        },
    }
