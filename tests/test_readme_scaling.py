"""The README's "Scaling out" block works as written: pasted into a shell, its settings reach the
`zoetrope` commands it runs."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_scaling_out_block_exports_every_setting_to_the_commands_it_runs():
    section = README.read_text().split("## Scaling out", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    lines = block.splitlines()
    first_command = next(i for i, line in enumerate(lines) if line.startswith("zoetrope "))
    settings = "\n".join(lines[:first_command]) + "\n"
    names = re.findall(r"\b(ZOETROPE_[A-Z0-9_]+)=", settings)
    assert {"ZOETROPE_DATABASE_URL", "ZOETROPE_BLOB_URL", "ZOETROPE_S3_ENDPOINT_URL"} <= set(names)
    seen = subprocess.run(["bash", "-c", settings + "env"], capture_output=True, text=True, check=True).stdout
    for name in names:
        assert re.search(rf"^{name}=", seen, re.M), f"{name} is set but not exported to the commands"
