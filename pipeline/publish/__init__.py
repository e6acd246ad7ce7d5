"""Publishing: the report factory, the renderer (Quarto, or Jupyter + Pandoc + Typst) and the figure helpers."""
