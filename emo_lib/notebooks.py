"""Execute the study notebooks top to bottom with parameters (papermill).

The notebooks in ``notebooks/`` have a cell tagged ``parameters`` holding
``PROFILE``, ``SEMAINE_ROOT``, ``RECOLA_ROOT``, ``WORK`` and ``FIGURES``;
:func:`run_notebooks` injects values and executes 01, 02, 03 and 04 in order.
A notebook that raises stops the run with an error naming it.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import EmoInputError

__all__ = ["NOTEBOOKS", "run_notebooks", "show_figure"]

NOTEBOOKS = (
    "01_data_preparation.ipynb",
    "02_training.ipynb",
    "03_results.ipynb",
    "04_lime_explanations.ipynb",
)
"""The study notebooks, in the order they run."""


def show_figure(path: str | Path, caption: str = "", width: int = 900):
    """Show a figure in a notebook by reference, so the notebook file stays small.

    The figure is linked relative to the working folder (the notebooks' folder
    when run by :func:`run_notebooks` or opened in Jupyter), not embedded.

    Returns
    -------
    IPython.display.HTML
    """
    import html

    from IPython.display import HTML

    relative = os.path.relpath(Path(path).resolve(), Path.cwd())
    text = f'<img src="{html.escape(relative)}" width="{int(width)}" alt="{html.escape(caption)}">'
    if caption:
        text += f"<p><em>{html.escape(caption)}</em></p>"
    return HTML(text)


def run_notebooks(*, profile: str = "quick", seeds: list[int] | None = None,
                  semaine: str | Path | None = None,
                  recola: str | Path | None = None, work: str | Path = "work",
                  figures: str | Path = "figures", notebook_dir: str | Path = "notebooks",
                  output_dir: str | Path | None = None, names: tuple[str, ...] = NOTEBOOKS,
                  timeout: int = 3600) -> list[Path]:
    """Execute the notebooks in order, in place (or into ``output_dir``).

    Parameters
    ----------
    profile : str
        ``"quick"``, ``"paper"`` or ``"ci"`` (see :mod:`emo_lib.study`).
    seeds : list of int, optional
        Model seeds instead of the profile's.
    semaine, recola : path, optional
        Roots of real corpora; the synthetic stand-in where ``None``.
    work : path
        Corpora, caches and runs go here.
    figures : path
        Figures and Table 1 go here.
    notebook_dir : path
    output_dir : path, optional
        Where executed notebooks are written (default: over the originals).
    names : tuple of str
    timeout : int
        Seconds a single cell may run.

    Returns
    -------
    list of pathlib.Path
        The executed notebooks.
    """
    import papermill

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    notebook_dir = Path(notebook_dir).resolve()
    output_dir = Path(output_dir).resolve() if output_dir is not None else notebook_dir
    output_dir.mkdir(parents=True, exist_ok=True)
    parameters = {
        "PROFILE": profile,
        "SEEDS": None if seeds is None else [int(seed) for seed in seeds],
        "SEMAINE_ROOT": None if semaine is None else str(Path(semaine).resolve()),
        "RECOLA_ROOT": None if recola is None else str(Path(recola).resolve()),
        "WORK": str(Path(work).resolve()),
        "FIGURES": str(Path(figures).resolve()),
    }
    written = []
    for name in names:
        source = notebook_dir / name
        if not source.exists():
            raise EmoInputError("notebook not found", path=source)
        target = output_dir / name
        print(f"executing {name} (profile {profile})", flush=True)
        try:
            papermill.execute_notebook(str(source), str(target), parameters=parameters,
                                       cwd=str(notebook_dir), kernel_name="python3",
                                       progress_bar=False, execution_timeout=timeout)
        except papermill.PapermillExecutionError as error:
            raise RuntimeError(f"{target}: a cell failed: {error.ename}: {error.evalue}") from None
        written.append(target)
    return written
