"""Model-serving formats whose manifests tell a loader what to import: TorchServe, NeMo, MLflow."""
