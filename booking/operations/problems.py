"""Why a request cannot be served, named by the input that has to change."""


class RequestProblem(Exception):
    """A request that cannot be served; `field` names the input to fix."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class NotFound(RequestProblem):
    """The request names something that does not exist (an unknown slug)."""


class CannotBook(RequestProblem):
    """The request is well formed but asks for something the clinic does not offer."""


class InvalidInput(Exception):
    """Several inputs to fix at once: `problems` maps each input's name to its message."""

    def __init__(self, problems: dict[str, str]):
        super().__init__("; ".join(problems.values()))
        self.problems = problems


class VisitCancelled(Exception):
    """The visit was cancelled while the request was on its way: answers for it are not kept."""


class RecordErased(Exception):
    """The patient's record was erased while the request was on its way: their link opens nothing now."""
