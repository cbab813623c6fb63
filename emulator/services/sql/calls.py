"""The engine's side of stored procedures (procedures.py holds what they are): CREATE / ALTER / DROP
PROCEDURE, EXEC in a batch (``EXEC [@status =] p 1, @x OUTPUT, @name = DEFAULT``, ``EXEC ('…')``) and a
call by RPC, each in a scope of its own (its parameters and variables, SCOPE_IDENTITY, @@NESTLEVEL,
@@PROCID), its RETURN status and OUTPUT parameters given back; RAISERROR, THROW and RETURN.

Permissions, as SQL Server checks them: the caller needs EXECUTE on the procedure (granted on it, or on
the database; db_datareader and db_datawriter do not give it, error 229 otherwise); the statements inside
run with the procedure owner's rights on the tables, which all belong to dbo as the procedure does
(ownership chaining), so a user with EXECUTE alone can run a procedure that reads a table it cannot."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from . import errors, procedures
from .batches import split_batch, split_top_level, string_literals
from .catalog import DDL
from .conversions import convert
from .errors import SqlError
from .procedures import Argument
from .results import Info, Outcome, ProcedureCall

if TYPE_CHECKING:
    from .models import SessionState

_RAISERROR = re.compile(r"^RAISERROR\s*\((.*)\)\s*(?:WITH\s+([\w\s,]+))?$", re.I | re.S)
_THROW = re.compile(r"^THROW(?:\s+(.+))?$", re.I | re.S)
_RETURN = re.compile(r"^RETURN(?:\s+(.+))?$", re.I | re.S)
_ARGUMENT = re.compile(r"^(?:@(\w+)\s*=\s*)?(.+?)(\s+(?:OUT|OUTPUT))?$", re.I | re.S)
_VARIABLE = re.compile(r"^@(\w+)$")


class Returned(Exception):  # noqa: N818 - not an error: RETURN leaves a procedure or a batch
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class Calls:
    """Mixed into engine.Engine, whose statement runner, evaluator and writer slot it uses."""

    # provided by Engine
    async def _run_statements(self, state: SessionState, statements: list[str], out: list[Outcome],
                              last: bool = True) -> None: ...

    def _evaluate(self, state: SessionState, expression: str, translation: Any = None) -> Any: ...

    async def write(self, state: SessionState, action: Any) -> Any: ...

    # -- definitions ----------------------------------------------------------------------------------
    async def define_procedure(self, state: SessionState, text: str) -> None:
        """A batch that is a CREATE / ALTER PROCEDURE (SQL Server: alone in its batch)."""
        definition = procedures.parse_definition(text)
        database = state.database
        if DDL not in database.capabilities(state):
            if definition.verb == "CREATE":
                raise errors.create_procedure_denied(database.name)
            raise errors.cannot_find_object(definition.procedure.name)
        await self.write(state, lambda: procedures.store(database, definition))
        self._defined(state)

    async def drop_procedure(self, state: SessionState, text: str) -> None:
        names, if_exists = procedures.parse_drop(text)
        database = state.database
        if DDL not in database.capabilities(state):
            raise errors.cannot_drop_procedure(names[0])
        await self.write(state, lambda: procedures.drop(database, names, if_exists))
        self._defined(state)

    @staticmethod
    def _defined(state: SessionState) -> None:
        state.database.changed()
        if state.in_transaction:
            state.ddl_in_transaction = True

    # -- EXEC in a batch --------------------------------------------------------------------------------
    async def exec_statement(self, state: SessionState, status_variable: str | None, name: str, rest: str,
                             out: list[Outcome]) -> None:
        """EXEC of a user procedure (``name`` as written, without its schema)."""
        arguments = [self._argument(state, part) for part in split_top_level(rest.strip())] if rest.strip() else []
        inside: list[Outcome] = []
        try:
            status, outputs = await self.call_procedure(state, name, arguments, inside)
        except BaseException:
            out.extend(inside)  # what ran before the error is still sent (before the error itself)
            raise
        out.append(ProcedureCall(inside, status))
        self._give_back(state, arguments, outputs)
        if status_variable is not None:
            key = status_variable.lower()
            if key not in state.variables:
                raise errors.must_declare("@" + status_variable)
            state.variables[key] = status

    @staticmethod
    def _give_back(state: SessionState, arguments: list[Argument], outputs: dict[int, Any]) -> None:
        """The OUTPUT parameters' values into the caller's variables."""
        for index, value in outputs.items():
            argument = arguments[index]
            if argument.output and argument.variable is not None:
                declared = state.variable_types.get(argument.variable)
                state.variables[argument.variable] = value if declared is None else convert(
                    value, declared, argument.source, state.options.conversion(), explicit=False)

    def _argument(self, state: SessionState, text: str) -> Argument:
        found = _ARGUMENT.match(text.strip())
        if not found:
            raise errors.syntax_error(text[:30])
        name, value_text, output = found.groups()
        value_text = value_text.strip()
        if value_text.upper() == "DEFAULT":
            return Argument(name, default=True)
        variable = _VARIABLE.match(value_text)
        if variable:
            key = variable.group(1).lower()
            if key not in state.variables:
                raise errors.must_declare(value_text)
            return Argument(name, state.variables[key], state.variable_types.get(key), bool(output), variable=key)
        if output:  # OUTPUT needs a variable to receive the value
            raise errors.syntax_error(value_text[:30])
        return Argument(name, self._evaluate(state, value_text))

    async def exec_text(self, state: SessionState, text: str, out: list[Outcome]) -> None:
        """EXEC ('…' [+ '…']): the string run as a batch of its own (variables not shared, as in SQL Server)."""
        literals = string_literals(text)
        if not literals:
            raise errors.unsupported("EXEC of an expression other than string literals")
        saved = state.variables, state.variable_types, state.options  # its SET options end with it, as in SQL Server
        state.variables, state.variable_types, state.options = {}, {}, state.options.copy()
        try:
            await self._run_statements(state, split_batch("".join(literals)), out, last=False)
        except Returned:
            pass
        finally:
            state.variables, state.variable_types, state.options = saved

    async def execute_sql(self, state: SessionState, rest: str, out: list[Outcome]) -> None:
        """EXEC sp_executesql N'statement' [, N'@p int, @q nvarchar(10) OUTPUT' [, @p = 1, @q = @v OUTPUT …]]:
        the statement in a scope of its own with those parameters (dynamic SQL: permissions are checked)."""
        parts = split_top_level(rest.strip())
        texts = [self._evaluate(state, part) for part in parts[:2]]
        if not isinstance(texts[0], str) or (len(texts) > 1 and not isinstance(texts[1], str)):
            raise errors.procedure_expects("sp_executesql", "@statement")
        declared = tuple(procedures.parameter(part) for part in split_top_level(texts[1])) if len(texts) > 1 else ()
        dynamic = procedures.Procedure("sp_executesql", 0, declared, texts[0], "")
        arguments = [self._argument(state, part) for part in parts[2:]]
        _, outputs = await self.run_procedure(state, dynamic, arguments, out)
        self._give_back(state, arguments, outputs)

    # -- a call (EXEC or RPC) -----------------------------------------------------------------------------
    async def call_procedure(self, state: SessionState, name: str, arguments: list[Argument],
                             out: list[Outcome]) -> tuple[int, dict[int, Any]]:
        """Run the procedure: its RETURN status, and the values of the OUTPUT parameters by argument index."""
        database = state.database
        procedure = procedures.find(database, procedures.procedure_name(name))
        if procedure is None:
            procedures.refuse_system_procedure(procedures.procedure_name(name))
            raise errors.procedure_not_found(name)
        if not state.procedure_id and not database.allows(state, "EXECUTE", procedure.name):
            raise errors.permission_denied("EXECUTE", procedure.name, database.name)
        return await self.run_procedure(state, procedure, arguments, out)

    async def run_procedure(self, state: SessionState, procedure: procedures.Procedure, arguments: list[Argument],
                            out: list[Outcome]) -> tuple[int, dict[int, Any]]:
        if state.nest_level >= procedures.MAX_NESTING:
            raise errors.nesting_exceeded(procedures.MAX_NESTING)
        bound = procedures.bind(procedure, arguments)
        options = state.options.conversion()
        variables: dict[str, Any] = {}
        types = {}
        for parameter, argument in bound:
            key = parameter.name.lower()
            types[key] = parameter.declared
            if argument is None:
                value, source = self._evaluate(state, parameter.default or "NULL"), None
            else:
                value, source = argument.value, argument.source
            variables[key] = convert(value, parameter.declared, source, options, explicit=False)
        # SET options a procedure (or sp_executesql's statement) sets are restored when it returns, as SQL Server does
        saved = (state.variables, state.variable_types, state.last_identity, state.procedure_id, state.options)
        state.variables, state.variable_types, state.last_identity = variables, types, None
        state.procedure_id, state.options = procedure.object_id, state.options.copy()
        state.nest_level += 1
        status = 0
        try:
            await self._run_statements(state, split_batch(procedure.body), out, last=False)
        except Returned as returned:
            status = returned.status
        finally:
            results = dict(state.variables)
            state.nest_level -= 1
            state.variables, state.variable_types, state.last_identity, state.procedure_id, state.options = saved
        index_of = {id(argument): index for index, argument in enumerate(arguments)}
        outputs = {index_of[id(argument)]: results.get(parameter.name.lower())
                   for parameter, argument in bound if argument is not None and parameter.output}
        return status, outputs

    # -- RETURN, RAISERROR, THROW ---------------------------------------------------------------------------
    def return_statement(self, state: SessionState, text: str) -> None:
        found = _RETURN.match(text.strip().rstrip(";"))
        assert found is not None
        if found.group(1) is None:
            raise Returned(0)
        if state.nest_level == 0:
            raise errors.return_value_not_allowed()
        value = self._evaluate(state, found.group(1))
        try:
            raise Returned(int(value) if value is not None else 0)
        except (TypeError, ValueError):
            raise errors.conversion_failed(f"RETURN {value}") from None

    def raiserror(self, state: SessionState, text: str, out: list[Outcome]) -> None:
        """RAISERROR (message | number, severity, state [, argument …]) [WITH …]: 50000 for a message given as
        text; severity up to 10 is a message, 11 to 18 an error after which the batch goes on (as in SQL
        Server), higher needs sysadmin (2754)."""
        found = _RAISERROR.match(text.strip().rstrip(";"))
        if not found:
            raise errors.syntax_error("RAISERROR")
        parts = split_top_level(found.group(1))
        if len(parts) < 3:
            raise errors.syntax_error(")")
        values = [self._evaluate(state, part) for part in parts]
        message, severity_value, state_value = values[0], values[1], values[2]
        try:
            severity, error_state = int(severity_value), int(state_value)
        except (TypeError, ValueError):
            raise errors.syntax_error(str(severity_value)) from None
        if severity > 18:
            raise errors.severity_needs_sysadmin()
        severity, error_state = max(severity, 0), min(max(error_state, 0), 255) if error_state >= 0 else 1
        if isinstance(message, (int, float)) and not isinstance(message, bool):
            error = errors.no_such_message(int(message), severity, error_state)
        else:
            text_value = procedures.raiserror_message(str(message) if message is not None else "", values[3:])
            error = errors.raised(50000, text_value[:2047], severity, error_state)
        if error.severity > 10:
            state.last_error = error.number
        out.append(Info(error))

    def throw(self, state: SessionState, text: str) -> None:
        found = _THROW.match(text.strip().rstrip(";"))
        assert found is not None
        if not found.group(1):
            raise errors.rethrow_outside_catch()
        parts = split_top_level(found.group(1))
        if len(parts) != 3:
            raise errors.syntax_error("THROW")
        number_value, message, state_value = (self._evaluate(state, part) for part in parts)
        try:
            number, error_state = int(number_value), int(state_value)
        except (TypeError, ValueError):
            raise errors.syntax_error("THROW") from None
        if number < 50000:
            raise errors.throw_number_out_of_range(number)
        if not 0 <= error_state <= 255:
            raise errors.throw_state_out_of_range(error_state)
        state.last_error = number
        raise errors.raised(number, str(message) if message is not None else "", 16, error_state)


__all__ = ["Calls", "Returned", "SqlError"]
