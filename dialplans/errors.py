"""The error hierarchy of :mod:`dialplans`. Every error it raises derives from
:class:`DialplanError`; messages name the offending parameter, template or program."""


class DialplanError(Exception):
    """Base class of the errors of the dialplans package."""

    code = "dialplan_error"


class InvalidParameter(DialplanError):
    """A render parameter (or a value bound for a dialplan line or an AMI header) that the
    escaper refuses. ``parameter`` names it; the message says why."""

    code = "invalid_dialplan_parameter"

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


class TemplateProblem(DialplanError):
    """A template that cannot be rendered safely: an undefined variable, a value that did
    not pass the escaper, or output that is not plausible extensions.conf text."""

    code = "dialplan_template_error"

    def __init__(
        self, template: str, message: str, *, line: int | None = None, es: str | None = None
    ) -> None:
        where = template if line is None else f"{template}, line {line}"
        super().__init__(f"template {where}: {message}")
        self.template = template
        self.message = message
        self.line = line
        self.es = es or message


class ToolMissing(DialplanError):
    """A program the prompts builder needs (espeak-ng, sox) is not installed."""

    code = "dialplan_tool_missing"

    def __init__(self, program: str) -> None:
        super().__init__(
            f"{program} is not installed (or not on PATH); "
            "install the prompt tools with: apt-get install espeak-ng sox"
        )
        self.program = program


class PromptBuildFailed(DialplanError):
    """espeak-ng or sox ran but failed to produce a prompt."""

    code = "dialplan_prompt_build_failed"

    def __init__(self, prompt: str, program: str, detail: str) -> None:
        super().__init__(f"prompt {prompt}: {program} failed: {detail}")
        self.prompt = prompt
        self.program = program
        self.detail = detail
