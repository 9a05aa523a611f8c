"""Execute the study notebooks top to bottom with parameters (papermill).

The notebooks in ``notebooks/`` have a cell tagged ``parameters`` holding
``PROFILE``, ``SEEDS``, ``SEMAINE_ROOT``, ``RECOLA_ROOT``, ``WORK`` and
``FIGURES``; :func:`run_notebooks` injects values and executes 01, 02, 03 and 04
in order.

What the executed notebooks keep is what the repository commits, so they hold
no path of the machine that ran them: the kernel runs in the folder the
executed notebook is written to, every path injected is relative to that
folder (``WORK = "../work"`` for the default layout), and the notebook's
papermill metadata names the input and output notebooks relative to it too.

While a notebook runs, its cells' output is streamed to the terminal
(papermill's ``log_output``), so long cells show their progress. A notebook
that raises stops the run with an :class:`~emo_lib.errors.EmoInputError`
naming the notebook, the cell and its exception, in one line; the executed
notebook, with the failing cell's traceback, is kept for reading.
"""

from __future__ import annotations

import base64
import logging
import os
import sys
import tempfile
from pathlib import Path

from .errors import EmoInputError

__all__ = ["NOTEBOOKS", "NOTEBOOK_DEFAULTS", "notebook_parameters", "run_notebooks", "show_figure"]

logger = logging.getLogger(__name__)

NOTEBOOKS = (
    "01_data_preparation.ipynb",
    "02_training.ipynb",
    "03_results.ipynb",
    "04_lime_explanations.ipynb",
)
"""The study notebooks, in the order they run."""


def show_figure(path: str | Path, caption: str = "", width: int = 900):
    """Show a figure in a notebook by reference (kept for older notebooks).

    The notebooks now display their figures inline; this function is no
    longer used by them. The figure is linked relative to the working folder
    (the executed notebook's folder when run by :func:`run_notebooks`), not
    embedded.

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


def _relative(path: str | Path | None, base: Path) -> str | None:
    """``path`` relative to ``base`` (POSIX separators); absolute only where no relative path exists."""
    if path is None:
        return None
    target = Path(path).resolve()
    try:
        return Path(os.path.relpath(target, base)).as_posix()
    except ValueError:  # another drive on Windows
        return target.as_posix()


NOTEBOOK_DEFAULTS = {"PROFILE": "quick", "SEEDS": None, "SEMAINE_ROOT": None, "RECOLA_ROOT": None,
                     "WORK": "../work", "FIGURES": "../figures"}
"""The values of the notebooks' own parameter cells."""


def notebook_parameters(*, profile: str = "quick", seeds: list[int] | None = None,
                        semaine: str | Path | None = None, recola: str | Path | None = None,
                        work: str | Path = "work", figures: str | Path = "figures",
                        base: str | Path = "notebooks") -> dict:
    """The parameters :func:`run_notebooks` injects, paths relative to ``base``.

    Parameters
    ----------
    profile : str
    seeds : list of int, optional
    semaine, recola : path, optional
        Corpus roots (None: the synthetic stand-in).
    work, figures : path
        Relative paths are taken from the current folder, as on the command line.
    base : path
        The folder the kernel runs in (the executed notebook's folder).

    Returns
    -------
    dict
        ``PROFILE``, ``SEEDS``, ``SEMAINE_ROOT``, ``RECOLA_ROOT``, ``WORK``,
        ``FIGURES``; every path relative to ``base``.

    Examples
    --------
    >>> notebook_parameters(base="notebooks")["WORK"]
    '../work'
    """
    base = Path(base).resolve()
    return {
        "PROFILE": profile,
        "SEEDS": None if seeds is None else [int(seed) for seed in seeds],
        "SEMAINE_ROOT": _relative(semaine, base),
        "RECOLA_ROOT": _relative(recola, base),
        "WORK": _relative(work, base),
        "FIGURES": _relative(figures, base),
    }


class _CellOutputHandler(logging.Handler):
    """Writes papermill's logged cell output to the terminal as it comes."""

    def __init__(self, stream):
        super().__init__(logging.INFO)
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
            # A progress bar's updates ("\r...") overwrite each other, as in a terminal.
            self.stream.write(text if text.endswith("\n") or "\r" in text else text + "\n")
            self.stream.flush()
        except Exception:  # noqa: BLE001 - a display problem must not stop the run
            self.handleError(record)


def _kernel_manager_class(stderr_log: Path | None = None):
    """The kernel manager papermill starts each notebook's kernel with.

    Kernels talk to papermill over local IPC sockets on POSIX systems (TCP
    elsewhere): over TCP, ipykernel warns at every start that its traffic is
    not encrypted; IPC sockets (files in Jupyter's runtime folder, readable by
    the user only) are what that warning recommends.

    With ``stderr_log`` the kernel process's own standard error goes to that
    file instead of the terminal. The cells' output reaches the notebook either
    way (ipykernel forwards it); what stays out of the terminal is the kernel's
    own logging, such as the "KeyboardInterrupt caught in kernel" it prints
    when it is stopped after a failed cell, which would break the one-line
    error of ``emo notebooks``.
    """
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import CaselessStrEnum

    class _NotebookKernelManager(AsyncKernelManager):
        if os.name == "posix":
            transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            if stderr_log is None:
                return await super()._async_launch_kernel(kernel_cmd, **kw)
            with open(stderr_log, "ab") as handle:  # the kernel process keeps its own copy
                kw["stderr"] = handle
                return await super()._async_launch_kernel(kernel_cmd, **kw)

    return _NotebookKernelManager


def _last_line(path: Path) -> str:
    """The last non-empty line of a text file ('' when there is none or it cannot be read)."""
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    except OSError:
        return ""
    return next((line for line in reversed(lines) if line), "")


def collapse_carriage_returns(text: str) -> str:
    r"""What a terminal shows of ``text``: each line's part after its last carriage return.

    A progress bar redraws itself with ``"\r"``; a notebook stores every redraw.
    Lines that end up empty are kept (they were printed as such).

    >>> collapse_carriage_returns("a\r 10%\r100%\nnext\n")
    '100%\nnext\n'
    """
    lines = text.split("\n")
    return "\n".join(next((part for part in reversed(line.split("\r")) if part), "") for line in lines)


def shrink_png(data: bytes) -> bytes:
    """The same picture as a 256-colour PNG when that is smaller (plots rarely need more colours).

    Parameters
    ----------
    data : bytes
        A PNG file.

    Returns
    -------
    bytes
        The smaller of ``data`` and its palette version (``data`` itself when
        Pillow cannot read it).
    """
    import io

    from PIL import Image

    try:
        image = Image.open(io.BytesIO(data))
        if image.mode == "P":
            return data
        palette = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                                dither=Image.Dither.NONE)
        out = io.BytesIO()
        palette.save(out, "PNG", optimize=True)
    except (OSError, ValueError):
        return data
    smaller = out.getvalue()
    return smaller if len(smaller) < len(data) else data


def _merge_streams(outputs: list) -> list:
    """Consecutive outputs to the same stream as one (the kernel sends a progress bar's redraws
    as separate messages; a terminal shows them as one line)."""
    merged = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (output.get("output_type") == "stream" and previous is not None
                and previous.get("output_type") == "stream" and previous.get("name") == output.get("name")):
            previous["text"] = previous.get("text", "") + output.get("text", "")
        else:
            merged.append(output)
    return merged


def _tidy_notebook(target: Path, source: Path) -> None:
    """Keep machine paths out of the executed notebook's papermill metadata, progress-bar
    redraws out of its stored output, and its embedded figures small (:func:`shrink_png`)."""
    import nbformat

    if not target.exists():
        return
    try:
        notebook = nbformat.read(target, as_version=4)
        for cell in notebook.cells:
            if "outputs" in cell:
                cell.outputs = _merge_streams(cell.outputs)
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream" and "\r" in output.get("text", ""):
                    output["text"] = collapse_carriage_returns(output["text"])
                png = output.get("data", {}).get("image/png")
                if png:  # figures stay embedded, at a size a repository and a course can carry
                    output["data"]["image/png"] = base64.b64encode(
                        shrink_png(base64.b64decode(png))).decode("ascii")
        meta = notebook.metadata.get("papermill")
        if meta is not None:
            meta["input_path"] = _relative(source, target.parent)
            meta["output_path"] = target.name
        nbformat.write(notebook, target)
    except Exception as error:  # noqa: BLE001 - never hide the execution's own outcome
        logger.warning("%s: could not tidy the executed notebook (%s)", target, error)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def run_notebooks(*, profile: str = "quick", seeds: list[int] | None = None,
                  semaine: str | Path | None = None,
                  recola: str | Path | None = None, work: str | Path = "work",
                  figures: str | Path = "figures", notebook_dir: str | Path = "notebooks",
                  output_dir: str | Path | None = None, names: tuple[str, ...] = NOTEBOOKS,
                  timeout: int = 3600, log_output: bool = True) -> list[Path]:
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
        The kernel runs there, and every path is injected relative to it.
    names : tuple of str
    timeout : int
        Seconds a single cell may run.
    log_output : bool
        Stream each cell's output to standard output while it runs.

    Returns
    -------
    list of pathlib.Path
        The executed notebooks.

    Raises
    ------
    EmoInputError
        A notebook is missing, a cell raised (the message names the notebook,
        the cell and its exception), a cell ran past ``timeout``, the kernel
        died, or papermill is not installed.
    """
    try:
        import papermill
        from jupyter_client.kernelspec import NoSuchKernel
        from nbclient.exceptions import CellTimeoutError, DeadKernelError
    except ImportError as error:
        raise EmoInputError(f"executing the notebooks needs papermill ({error}): "
                            "pip install 'emo_lib[notebooks]'") from None

    notebook_dir = Path(notebook_dir).resolve()
    output_dir = Path(output_dir).resolve() if output_dir is not None else notebook_dir
    for name in names:
        if not (notebook_dir / name).exists():
            raise EmoInputError("notebook not found", path=notebook_dir / name)
    output_dir.mkdir(parents=True, exist_ok=True)
    parameters = notebook_parameters(profile=profile, seeds=seeds, semaine=semaine, recola=recola,
                                     work=work, figures=figures, base=output_dir)
    # Only what differs from the notebooks' own parameter cell is injected: a run with the
    # defaults leaves the notebooks' cells as they are (nothing machine-specific enters them).
    parameters = {key: value for key, value in parameters.items() if NOTEBOOK_DEFAULTS.get(key) != value}

    papermill_log = logging.getLogger("papermill")
    handler = _CellOutputHandler(sys.stdout)
    saved = papermill_log.level, papermill_log.propagate
    if log_output:
        papermill_log.addHandler(handler)
        papermill_log.setLevel(logging.INFO)
        papermill_log.propagate = False
    written = []
    logs = tempfile.TemporaryDirectory(prefix="emo-kernel-")
    try:
        for name in names:
            source = notebook_dir / name
            target = output_dir / name
            kernel_log = Path(logs.name) / f"{Path(name).stem}.stderr"
            print(f"executing {name} (profile {profile})", flush=True)
            try:
                papermill.execute_notebook(str(source), str(target), parameters=parameters,
                                           cwd=str(output_dir), kernel_name="python3",
                                           progress_bar=False, log_output=log_output,
                                           execution_timeout=timeout,
                                           kernel_manager_class=_kernel_manager_class(kernel_log))
            except papermill.PapermillExecutionError as error:
                raise EmoInputError(
                    f"cell In [{error.exec_count}] failed: {error.ename}: {_one_line(error.evalue)} "
                    "(the executed notebook shows the traceback)", path=target) from None
            except CellTimeoutError:
                raise EmoInputError(f"a cell ran longer than {timeout} s", path=target) from None
            except DeadKernelError as error:
                last = _last_line(kernel_log)
                raise EmoInputError(f"the kernel died ({_one_line(error)})"
                                    + (f"; its last message: {last}" if last else ""),
                                    path=target) from None
            except NoSuchKernel:
                raise EmoInputError("no Jupyter kernel 'python3' (pip install ipykernel)",
                                    path=source) from None
            finally:
                _tidy_notebook(target, source)
            written.append(target)
    finally:
        logs.cleanup()
        if log_output:
            papermill_log.removeHandler(handler)
            papermill_log.setLevel(saved[0])
            papermill_log.propagate = saved[1]
    return written
