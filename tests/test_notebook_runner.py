"""Tests of emo_lib.notebooks.run_notebooks on tiny notebooks: relative paths only, streamed output,
one-line errors."""

import json
import os
from pathlib import Path

import nbformat
import numpy as np
import pytest

from emo_lib.errors import EmoInputError
from emo_lib.notebooks import collapse_carriage_returns, notebook_parameters, run_notebooks

PARAMETERS = '''PROFILE = "quick"
SEEDS = None
SEMAINE_ROOT = None
RECOLA_ROOT = None
WORK = "../work"
FIGURES = "../figures"'''


def write_notebook(path: Path, *cells: str) -> Path:
    """A notebook with the study notebooks' parameters cell followed by ``cells``."""
    notebook = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell(PARAMETERS)
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [parameters, *(nbformat.v4.new_code_cell(source) for source in cells)]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


WRITES_MARKER = '''from pathlib import Path
Path(WORK).mkdir(parents=True, exist_ok=True)
(Path(WORK) / "marker.txt").write_text(f"{PROFILE} {SEEDS} {SEMAINE_ROOT}")
print("streamed line from the kernel")'''


def test_parameters_are_relative_to_the_kernel_folder(tmp_path):
    parameters = notebook_parameters(profile="ci", seeds=[0, 2], semaine=tmp_path / "data" / "SEMAINE",
                                     work=tmp_path / "work", figures=tmp_path / "figures",
                                     base=tmp_path / "notebooks")
    assert parameters == {"PROFILE": "ci", "SEEDS": [0, 2], "SEMAINE_ROOT": "../data/SEMAINE", "RECOLA_ROOT": None,
                          "WORK": "../work", "FIGURES": "../figures"}


def test_runner_injects_no_absolute_path_and_streams_output(tmp_path, capsys):
    source = write_notebook(tmp_path / "repo" / "notebooks" / "tiny.ipynb", WRITES_MARKER)
    # A stale injected cell with a machine path, as older runs left one, is replaced.
    notebook = nbformat.read(source, as_version=4)
    stale = nbformat.v4.new_code_cell(f'WORK = "{tmp_path}/old"')
    stale.metadata["tags"] = ["injected-parameters"]
    notebook.cells.insert(1, stale)
    nbformat.write(notebook, source)

    cwd = os.getcwd()
    os.chdir(tmp_path / "repo")
    try:  # relative paths, as `emo notebooks` passes them from the repository root
        written = run_notebooks(profile="ci", seeds=[3], semaine=tmp_path / "SEMAINE", work="work",
                                figures="figures", notebook_dir="notebooks", names=("tiny.ipynb",), timeout=120)
    finally:
        os.chdir(cwd)

    assert written == [source.resolve()]
    marker = tmp_path / "repo" / "work" / "marker.txt"
    assert marker.read_text() == "ci [3] ../../SEMAINE"  # the kernel resolved the relative paths
    text = source.read_text()
    assert str(tmp_path) not in text  # no machine path anywhere in the executed notebook
    executed = nbformat.read(source, as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    # Only values that differ from the notebook's own defaults are injected (WORK and FIGURES are
    # the defaults here), each relative to the notebook's folder.
    assert 'SEMAINE_ROOT = "../../SEMAINE"' in injected[0].source and "SEEDS = [3]" in injected[0].source
    assert "WORK" not in injected[0].source and "FIGURES" not in injected[0].source
    meta = executed.metadata["papermill"]
    assert (meta["input_path"], meta["output_path"]) == ("tiny.ipynb", "tiny.ipynb")
    assert meta["parameters"] == {"PROFILE": "ci", "SEEDS": [3], "SEMAINE_ROOT": "../../SEMAINE"}
    assert "streamed line from the kernel" in capsys.readouterr().out  # log_output


def test_output_folder_gets_paths_relative_to_it(tmp_path):
    source = write_notebook(tmp_path / "notebooks" / "tiny.ipynb", WRITES_MARKER)
    written = run_notebooks(profile="ci", work=tmp_path / "work", figures=tmp_path / "figures",
                            notebook_dir=tmp_path / "notebooks", output_dir=tmp_path / "out" / "executed",
                            names=("tiny.ipynb",), timeout=120, log_output=False)
    assert written == [tmp_path / "out" / "executed" / "tiny.ipynb"]
    assert (tmp_path / "work" / "marker.txt").exists()
    assert json.loads(written[0].read_text())["metadata"]["papermill"]["input_path"] == "../../notebooks/tiny.ipynb"
    assert str(tmp_path) not in written[0].read_text()
    assert source.read_text().count("injected-parameters") == 0  # the original is untouched


def test_a_failing_notebook_is_one_line_naming_it_and_the_exception(tmp_path):
    write_notebook(tmp_path / "nb" / "broken.ipynb", "x = 1", 'raise ValueError("the stand-in is missing\\nsecond line")')
    with pytest.raises(EmoInputError) as error:
        run_notebooks(notebook_dir=tmp_path / "nb", work=tmp_path / "work", figures=tmp_path / "figures",
                      names=("broken.ipynb",), timeout=120, log_output=False)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(str(tmp_path / "nb" / "broken.ipynb"))
    # 3: the parameters cell, "x = 1", the failing cell (nothing differs from the defaults: no injected cell)
    assert "cell In [3] failed: ValueError: the stand-in is missing second line" in message
    executed = nbformat.read(tmp_path / "nb" / "broken.ipynb", as_version=4)
    assert executed.metadata["papermill"]["input_path"] == "broken.ipynb"  # tidied even on failure
    with pytest.raises(EmoInputError, match="notebook not found"):
        run_notebooks(notebook_dir=tmp_path / "nb", names=("absent.ipynb",))


def test_progress_bar_redraws_are_not_stored():
    assert collapse_carriage_returns("files:   0%\rfiles:  50%\rfiles: 100%\ndone\n") == "files: 100%\ndone\n"
    assert collapse_carriage_returns("a\r\nb") == "a\nb"  # a trailing "\r" keeps what was drawn
    assert collapse_carriage_returns("plain\n\ntext") == "plain\n\ntext"


def test_executed_notebook_keeps_the_last_progress_redraw(tmp_path):
    write_notebook(tmp_path / "nb" / "bar.ipynb",
                   'import sys, time\nfor i in range(50):\n    sys.stderr.write(f"\\rstep {i:02d}")\n'
                   '    sys.stderr.flush()\n    time.sleep(0.01)\n_ = sys.stderr.write("\\n")')
    [written] = run_notebooks(notebook_dir=tmp_path / "nb", work=tmp_path / "work", figures=tmp_path / "figures",
                              names=("bar.ipynb",), timeout=120, log_output=False)
    notebook = nbformat.read(written, as_version=4)
    [output] = notebook.cells[-1].outputs  # the redraws, sent one by one, merged into one output
    assert output.text.strip() == "step 49" and "\r" not in output.text


def test_embedded_figures_are_shrunk_without_changing_the_picture():
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from emo_lib.notebooks import shrink_png

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.imshow(np.random.default_rng(0).normal(size=(40, 300)), aspect="auto", cmap="magma")
    ax.plot(np.sin(np.linspace(0, 20, 500)))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    original = buffer.getvalue()
    shrunk = shrink_png(original)
    assert len(shrunk) < 0.7 * len(original)
    before = np.asarray(Image.open(io.BytesIO(original)).convert("RGB"), float)
    after = np.asarray(Image.open(io.BytesIO(shrunk)).convert("RGB"), float)
    assert before.shape == after.shape and np.mean(np.abs(before - after)) < 3  # out of 255
    assert shrink_png(shrunk) == shrunk  # already a palette image
    assert shrink_png(b"not a png") == b"not a png"
