"""Code that runs inside the Rasa server: NLU components and input channels."""
