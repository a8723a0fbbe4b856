"""Where contributions live: GitHub pull requests and Hugging Face Hub repositories."""
