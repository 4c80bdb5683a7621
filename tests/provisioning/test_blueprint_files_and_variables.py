"""Blueprint files, variables and values: what the upload form and the runner rely on."""

from __future__ import annotations

import io
import stat
import zipfile

import pytest

from provisioning.blueprint_files import (
    BlueprintError,
    bundled_blueprints,
    check_files,
    files_from_texts,
    files_from_zip,
)
from provisioning.variable_values import validate_values
from provisioning.variables import Variable, parse_variables

MAIN = 'resource "null_resource" "x" {}\n'


def by_name(variables: list[Variable]) -> dict[str, Variable]:
    return {v.name: v for v in variables}


def make_zip(*entries: tuple[str, bytes] | zipfile.ZipInfo, data: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in entries:
            if isinstance(entry, zipfile.ZipInfo):
                archive.writestr(entry, data)
            else:
                archive.writestr(*entry)
    return buffer.getvalue()


# --- bundled blueprints and parsing -------------------------------------------------------------


def test_it_ships_five_blueprints_with_descriptions() -> None:
    found = {b.slug: b for b in bundled_blueprints()}
    assert sorted(found) == [
        "aws-ec2-instance",
        "aws-s3-bucket",
        "azure-linux-vm",
        "gcp-compute-instance",
        "hello",
    ]
    assert found["aws-s3-bucket"].name == "AWS S3 bucket"
    for blueprint in found.values():
        assert blueprint.description
        assert "\n" not in blueprint.description
        assert "README.md" in blueprint.files
        assert parse_variables(blueprint.files), blueprint.slug


def test_it_reads_types_defaults_and_flags_of_the_hello_blueprint() -> None:
    hello = next(b for b in bundled_blueprints() if b.slug == "hello")
    variables = by_name(parse_variables(hello.files))
    assert variables["name"] == Variable(
        name="name",
        type="string",
        default="world",
        description="Who to greet.",
        sensitive=False,
        required=False,
    )
    assert variables["sleep_seconds"].type == "number"
    assert variables["sleep_seconds"].default == 0
    assert variables["secret_token"].sensitive is True
    assert variables["secret_token"].default == ""
    assert variables["labels"].type == "map(string)"
    assert variables["labels"].default == {}


def test_it_reads_required_variables_and_collection_types_of_cloud_blueprints() -> None:
    found = {b.slug: by_name(parse_variables(b.files)) for b in bundled_blueprints()}
    ec2 = found["aws-ec2-instance"]
    assert ec2["name"].required
    assert ec2["name"].default is None
    assert ec2["allowed_ssh_cidrs"].type == "list(string)"
    assert ec2["associate_public_ip"].default is False
    assert found["azure-linux-vm"]["address_space"].default == ["10.20.0.0/16"]
    assert found["gcp-compute-instance"]["project_id"].required
    assert found["aws-s3-bucket"]["versioning"].default is True


def test_it_writes_types_as_the_blueprint_does() -> None:
    text = """
variable "obj" {
  type = object({
    name = string
    ports = list(number)
  })
}
variable "pair" { type = tuple([string, number]) }
variable "ids" { type = set(string) }
variable "legacy" { type = "string" }
variable "untyped" {}
variable "nothing" {
  type    = string
  default = null
}
"""
    variables = by_name(parse_variables({"main.tf": text}))
    assert variables["obj"].type == "object({name = string, ports = list(number)})"
    assert variables["pair"].type == "tuple([string, number])"
    assert variables["ids"].type == "set(string)"
    assert variables["legacy"].type == "string"
    assert variables["untyped"].type == "any"
    assert variables["untyped"].required
    assert not variables["nothing"].required  # a null default makes a variable optional
    assert variables["nothing"].default is None


def test_it_reads_literal_defaults_with_escapes_heredocs_and_nesting() -> None:
    text = r"""
variable "quoted" { default = "say \"hi\"\tthen $${not_a_template} and %%{this}" }
variable "heredoc" {
  default = <<-EOT
    line one
      line two
    EOT
}
variable "nested" {
  default = { "with space" = [1, 2.5, true], plain = { a = "b" } }
}
variable "negative" { default = -3 }
variable "science" { default = 1e3 }
"""
    variables = by_name(parse_variables({"main.tf": text}))
    assert variables["quoted"].default == 'say "hi"\tthen ${not_a_template} and %{this}'
    assert variables["heredoc"].default == "line one\n  line two"
    assert variables["nested"].default == {"with space": [1, 2.5, True], "plain": {"a": "b"}}
    assert variables["negative"].default == -3
    assert variables["science"].default == 1000


def test_it_reads_tf_json_variables() -> None:
    doc = '{"variable": {"region": {"type": "string", "default": "eu-west-1"},'
    doc += ' "count": {"type": "number", "sensitive": true}}}'
    variables = by_name(parse_variables({"main.tf.json": doc, "main.tf": MAIN}))
    assert variables["region"].default == "eu-west-1"
    assert variables["count"].required
    assert variables["count"].sensitive


def test_it_ignores_the_variables_of_local_modules() -> None:
    files = {"main.tf": 'variable "a" {}\n', "modules/net/variables.tf": 'variable "b" {}\n'}
    assert [v.name for v in parse_variables(files)] == ["a"]


def test_it_names_the_file_and_the_reason_of_invalid_hcl() -> None:
    with pytest.raises(
        BlueprintError, match=r"broken\.tf: invalid HCL: unexpected '}' at line \d, column \d"
    ):
        parse_variables({"main.tf": MAIN, "broken.tf": 'variable "x" {\n  type =\n}\n'})


def test_it_refuses_a_variable_declared_twice() -> None:
    files = {"a.tf": 'variable "x" {}\n', "b.tf": 'variable "x" {}\n'}
    with pytest.raises(BlueprintError, match=r"'x' is also declared in a\.tf"):
        parse_variables(files)


def test_it_refuses_a_default_that_is_not_a_literal() -> None:
    with pytest.raises(BlueprintError, match="literal"):
        parse_variables({"main.tf": 'variable "x" { default = "${upper("a")}" }\n'})


# --- values -------------------------------------------------------------------------------------

VARIABLES = parse_variables(
    {
        "main.tf": """
variable "name" { type = string }
variable "size" {
  type    = number
  default = 1
}
variable "public" {
  type    = bool
  default = false
}
variable "zones" {
  type    = list(string)
  default = []
}
variable "ports" {
  type    = list(number)
  default = []
}
variable "tags" {
  type    = map(string)
  default = {}
}
variable "owner" {
  type    = object({ name = string, age = number })
  default = null
}
variable "note" {
  type    = string
  default = "n/a"
}
variable "anything" { default = "x" }
"""
    }
)


def test_it_coerces_form_strings_to_the_declared_types() -> None:
    values, errors = validate_values(
        VARIABLES,
        {
            "name": "web",
            "size": "3",
            "public": "on",
            "zones": '["a", "b"]',
            "ports": '[80, "443"]',
            "tags": '{"team": "infra"}',
            "owner": '{"name": "Ada", "age": "36"}',
        },
    )
    assert errors == {}
    assert values == {
        "name": "web",
        "size": 3,
        "public": True,
        "zones": ["a", "b"],
        "ports": [80, 443],
        "tags": {"team": "infra"},
        "owner": {"name": "Ada", "age": 36},
        "note": "n/a",
        "anything": "x",
    }


def test_it_accepts_json_values_and_reads_numbers_as_json_does() -> None:
    values, errors = validate_values(
        VARIABLES, {"name": 42, "size": 2.5, "public": False, "zones": ["z"], "anything": [1]}
    )
    assert errors == {}
    assert values["name"] == "42"
    assert values["size"] == 2.5
    assert values["public"] is False
    assert values["zones"] == ["z"]
    assert values["anything"] == [1]


def test_it_reports_an_error_per_variable() -> None:
    values, errors = validate_values(
        VARIABLES,
        {
            "size": "three",
            "public": "maybe",
            "zones": "[1,",
            "ports": '[80, "http"]',
            "tags": '["not", "a", "map"]',
            "owner": '{"name": "Ada"}',
            "surprise": "1",
        },
    )
    assert errors == {
        "name": "required",
        "size": "not a number",
        "public": "not true or false",
        "zones": "not a JSON list",
        "ports": "item 2: not a number",
        "tags": "not a JSON object",
        "owner": "attribute 'age': required",
        "surprise": "unknown variable",
    }
    assert "size" not in values


def test_it_treats_empty_form_fields_as_not_given_except_for_strings_with_defaults() -> None:
    values, errors = validate_values(
        VARIABLES, {"name": "", "size": "", "public": "", "zones": "", "note": ""}
    )
    assert errors == {"name": "required"}
    assert values["size"] == 1
    assert values["public"] is False
    assert values["zones"] == []
    assert values["note"] == ""


def test_it_refuses_booleans_as_numbers_and_nan() -> None:
    _, errors = validate_values(VARIABLES, {"name": "x", "size": True, "ports": "[NaN]"})
    assert errors == {"size": "not a number", "ports": "item 1: not a number"}
    _, errors = validate_values(VARIABLES, {"name": "x", "size": "nan"})
    assert errors == {"size": "not a number"}


def test_it_keeps_shell_metacharacters_as_plain_text() -> None:
    hostile = '$(touch /tmp/pwned); rm -rf ~ && echo "x" `id` | tee >/dev/null'
    values, errors = validate_values(VARIABLES, {"name": hostile})
    assert errors == {}
    assert values["name"] == hostile


# --- files --------------------------------------------------------------------------------------


def test_it_reads_a_zip_and_strips_a_single_top_folder() -> None:
    data = make_zip(
        ("blueprint/main.tf", MAIN),
        ("blueprint/modules/net/main.tf", MAIN),
        ("blueprint/README.md", "About.\n"),
        ("__MACOSX/blueprint/._main.tf", "resource fork"),
    )
    assert files_from_zip(data) == {
        "main.tf": MAIN,
        "modules/net/main.tf": MAIN,
        "README.md": "About.\n",
    }


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../evil.tf", r"'\.\.'"),
        ("modules/../../evil.tf", r"'\.\.'"),
        ("/etc/evil.tf", "absolute"),
        ("C:/evil.tf", "absolute"),
        ("dir\\evil.tf", "backslash"),
        (".terraform/evil.tf", "not start with a dot"),
        ("run.sh", r"only \.tf"),
        ("terraform.tfvars", r"only \.tf"),
        ("_mcloud_backend.tf", "reserved"),
        ("override.tf", "override"),
    ],
)
def test_it_refuses_unsafe_or_foreign_names_in_a_zip(name: str, reason: str) -> None:
    with pytest.raises(BlueprintError, match=reason):
        files_from_zip(make_zip(("main.tf", MAIN), (name, MAIN)))


def test_it_refuses_hidden_folders_in_a_zip() -> None:
    with pytest.raises(BlueprintError, match=r"\.git/: not an acceptable folder name"):
        files_from_zip(make_zip(("main.tf", MAIN), zipfile.ZipInfo(".git/")))


def test_it_refuses_symlinks_in_a_zip() -> None:
    link = zipfile.ZipInfo("passwd.tf")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with pytest.raises(BlueprintError, match="symbolic links"):
        files_from_zip(make_zip(("main.tf", MAIN), link, data=b"/etc/passwd"))


def test_it_refuses_a_file_over_the_size_limit() -> None:
    huge = "#" * (1024 * 1024 + 1)
    with pytest.raises(BlueprintError, match="more than the limit"):
        files_from_zip(make_zip(("main.tf", MAIN), ("big.tf", huge)))


def test_it_refuses_a_zip_bomb_by_declared_sizes() -> None:
    entries = [(f"f{n}.tf", "#" * 1_000_000) for n in range(6)]  # 6 MB from a few KB
    data = make_zip(("main.tf", MAIN), *entries)
    assert len(data) < 100_000
    with pytest.raises(BlueprintError, match="unpacked, more than the limit"):
        files_from_zip(data)


def test_it_refuses_a_zip_bomb_that_under_declares_its_size() -> None:
    data = bytearray(make_zip(("main.tf", MAIN), ("bomb.tf", "#" * 3_000_000)))
    # Rewrite the declared size of bomb.tf (local header and central directory) to 100 bytes.
    real = (3_000_000).to_bytes(4, "little")
    assert data.count(real) == 2
    data = data.replace(real, (100).to_bytes(4, "little"))
    with pytest.raises(BlueprintError, match=r"bomb\.tf"):
        files_from_zip(bytes(data), max_file=1_000_000)


def test_it_refuses_too_many_files() -> None:
    entries = [(f"f{n}.tf", MAIN) for n in range(5)]
    with pytest.raises(BlueprintError, match="more than the limit of 4"):
        files_from_zip(make_zip(*entries), max_files=4)


def test_it_refuses_text_that_is_not_utf8_and_data_that_is_not_a_zip() -> None:
    with pytest.raises(BlueprintError, match="not UTF-8"):
        files_from_zip(make_zip(("main.tf", b"\xff\xfe")))
    with pytest.raises(BlueprintError, match="Not a zip"):
        files_from_zip(b"PK\x03\x04 but not really")


def test_it_refuses_a_blueprint_without_a_tf_file() -> None:
    with pytest.raises(BlueprintError, match=r"no \.tf file"):
        files_from_texts({"README.md": "Nothing here.\n", "modules/x/main.tf": MAIN})


@pytest.mark.parametrize(
    "files",
    [
        {"main.tf": 'terraform {\n  backend "s3" {\n    bucket = "x"\n  }\n}\n'},
        {"main.tf": "terraform {\n  backend local {}\n}\n"},
        {"main.tf": MAIN, "state.tf.json": '{"terraform": {"backend": {"local": {}}}}'},
        {"main.tf": MAIN, "modules/x/main.tf": 'terraform {\n  backend "gcs" {}\n}\n'},
    ],
)
def test_it_refuses_a_blueprint_declaring_a_backend(files: dict[str, str]) -> None:
    with pytest.raises(BlueprintError, match="declares a backend"):
        files_from_texts(files)


def test_it_does_not_mistake_comments_or_strings_for_a_backend() -> None:
    text = (
        '# terraform { backend "s3" {} }\n'
        '/* backend "gcs" {\n} */\n'
        'output "hint" { value = "set backend \\"s3\\" { } yourself # not here" }\n'
        f"{MAIN}"
    )
    check_files({"main.tf": text})
