"""Every SQL Server error the emulated Azure SQL endpoint sends: number, state, class and message.

On the wire each becomes an ERROR token (or INFO for class ≤ 10); the texts are SQL Server's own
(``sys.messages``), so a learner who searches for the number finds Microsoft's documentation. One
grep for a number finds it here.
"""

from __future__ import annotations

import re
import threading

SERVER_VERSION = (12, 0, 2000, 8)  # what Azure SQL Database reports
TOKEN_IDENTIFIED = "<token-identified principal>"


class SqlError(Exception):
    """An error SQL Server would report; ``severity`` is the TDS "class"."""

    def __init__(self, number: int, message: str, *, state: int = 1, severity: int = 16,
                 fatal: bool = False) -> None:
        super().__init__(message)
        self.number = number
        self.message = message
        self.state = state
        self.severity = severity
        self.fatal = fatal  # the connection is closed after the error is sent
        # the transaction the error rolled back (SET XACT_ABORT ON): its descriptor, for the ENVCHANGE sent after it
        self.rolled_back: bytes | None = None


# What an error ends (Microsoft Learn, "SET XACT_ABORT": with XACT_ABORT OFF, the default, "in some cases only the
# Transact-SQL statement that raised the error is rolled back and the transaction continues processing" — its
# example is a foreign key conflict, 547 — and "when ANSI_WARNINGS=OFF, permissions violations cause transactions to
# abort", so with ANSI_WARNINGS ON, as every ODBC and TDS client sets it, they end the statement alone).
# These end the statement: the batch goes on with the next one, @@ERROR holds the number, an open transaction
# stays open. Every other error ends the batch, as it did before.
STATEMENT_TERMINATING = frozenset({
    547,                # the statement conflicted with a FOREIGN KEY / CHECK constraint
    2601, 2627,         # duplicate key (unique index, PRIMARY KEY / UNIQUE constraint)
    515,                # NULL into a NOT NULL column
    2628, 8152,         # string or binary data would be truncated
    229, 230, 262,      # permission denied on an object, a column, a statement (CREATE TABLE)
    3902, 3903,         # COMMIT / ROLLBACK with no BEGIN TRANSACTION
})
# With SET XACT_ABORT ON, a run-time error ends the batch and rolls the whole transaction back: the errors above,
# conversion and arithmetic errors, and THROW (which honours XACT_ABORT; RAISERROR does not). Compile errors
# (syntax, unknown names) are "not affected by SET XACT_ABORT".
_RUN_TIME = STATEMENT_TERMINATING | {241, 242, 245, 8114, 8115, 220, 8134, 1222}


def ends_statement_only(error: SqlError, xact_abort: bool) -> bool:
    """Whether the batch goes on after ``error`` (SQL Server's statement-terminating errors, XACT_ABORT OFF)."""
    return not xact_abort and not error.fatal and error.number in STATEMENT_TERMINATING


def aborts_transaction(error: SqlError, xact_abort: bool) -> bool:
    """Whether ``error`` rolls the open transaction back: a run-time error under SET XACT_ABORT ON."""
    return xact_abort and (error.number in _RUN_TIME or error.number >= 50000)


_FUNCTION_ERRORS = threading.local()
# the emulator's own names in SQLite (functions, catalog views, tables) and what a client wrote instead
_INTERNAL = re.compile(r"__(tsql|global|sys|information_schema|emulator|visible|source)_?(\w*)", re.I)
_CLIENT_NAMES = {"tsql_sum": "SUM", "tsql_avg": "AVG", "tsql_avg_exact": "AVG", "tsql_convert": "CONVERT",
                 "tsql_assign": "INSERT", "tsql_decimal": "an arithmetic operator", "tsql_compare": "a comparison",
                 "tsql_int_check": "an arithmetic operator", "tsql_now": "GETDATE"}


def public(text: str, written: str = "") -> str:
    """A message as a client may see it: the emulator's own names (``__tsql_sum``, ``__global_options``,
    ``__sys_tables`` …) replaced by what the statement wrote (SUM, @@OPTIONS, sys.tables …), unless the
    statement ``written`` named them itself (then the message quotes it, as SQL Server quotes a name)."""
    lowered = written.lower()

    def name(found: re.Match[str]) -> str:
        if lowered and found.group(0).lower() in lowered:
            return found.group(0)
        kind, rest = found.group(1).lower(), found.group(2)
        if kind == "global":
            return "@@" + rest.upper()
        if kind in ("sys", "information_schema"):
            return f"{kind.replace('information_schema', 'INFORMATION_SCHEMA')}.{rest}"
        return _CLIENT_NAMES.get(f"{kind}_{rest}".lower(), rest.upper() or "the statement")
    return _INTERNAL.sub(name, text)


def raise_in_function(error: SqlError) -> None:
    """Raise a SQL Server error from inside a SQLite function: SQLite reports only "user-defined function
    raised exception", so the error waits here (per thread) for ``pending_function_error``."""
    _FUNCTION_ERRORS.error = error
    raise error


def pending_function_error() -> SqlError | None:
    error: SqlError | None = getattr(_FUNCTION_ERRORS, "error", None)
    _FUNCTION_ERRORS.error = None
    return error


# -- login (the connection is closed after these) ---------------------------------------------------
def login_failed(user: str = TOKEN_IDENTIFIED, state: int = 1) -> SqlError:
    return SqlError(18456, f"Login failed for user '{user}'.", state=state, severity=14, fatal=True)


def cannot_open_database(database: str) -> SqlError:
    return SqlError(4060, f'Cannot open database "{database}" requested by the login. The login failed.',
                    severity=11, fatal=True)


def fedauth_library_not_supported() -> SqlError:
    return SqlError(18456, "Login failed for user '<token-identified principal>'. The emulator accepts an "
                    "access token (SQL_COPT_SS_ACCESS_TOKEN / access_token_callable) or a driver that gets one "
                    "from its login endpoint (Authentication=ActiveDirectoryServicePrincipal).",
                    state=2, severity=14, fatal=True)


def fedauth_integrated_not_supported() -> SqlError:
    """ActiveDirectoryIntegrated needs a Windows (Kerberos) identity federated with Entra: none here."""
    return SqlError(18456, "Login failed for user '<token-identified principal>'. The emulator has no Windows "
                    "identity to federate (Authentication=ActiveDirectoryIntegrated): pass an access token, or "
                    "use Authentication=ActiveDirectoryServicePrincipal.", state=2, severity=14, fatal=True)


def prelogin_invalid() -> SqlError:
    return SqlError(17828, "The prelogin packet used to open the connection is structurally invalid; the connection "
                    "has been closed. Please contact the vendor of the client library.", severity=20, fatal=True)


def login_invalid() -> SqlError:
    return SqlError(17832, "The login packet used to open the connection is structurally invalid; the connection "
                    "has been closed. Please contact the vendor of the client library.", severity=20, fatal=True)


def session_limit_reached(limit: int) -> SqlError:
    """Azure SQL's resource governance: Resource ID 2 is the session (connection) limit."""
    return SqlError(10928, f"Resource ID : 2. The session limit for the database is {limit} and has been reached. "
                    "See 'http://go.microsoft.com/fwlink/?LinkId=267637' for assistance.", state=1, severity=16,
                    fatal=True)


# -- requests that are not TDS as SQL Server reads it (the connection stays usable) ------------------
_RPC_STREAM = "The incoming tabular data stream (TDS) remote procedure call (RPC) protocol stream is incorrect."
_PARAMETER_PROBLEMS = {
    "chunks": (8007, "The chunking format is incorrect for a large object parameter of type 0x{type_id:02X}."),
    "unknown_type": (8009, "Data type 0x{type_id:02X} is unknown."),
    "length": (8016, "Data type 0x{type_id:02X} has an invalid data length or metadata length."),
    "precision": (8017, "Data type 0x{type_id:02X} has an invalid precision or scale."),
    "value": (8023, "The supplied value is not a valid instance of data type {type_name}. Check the source data "
                    "for invalid values. An example of an invalid value is data of numeric type with scale greater "
                    "than precision."),
    "odd_length": (8028, "The supplied length is not valid for data type {type_name}. Check the source data for "
                         "invalid lengths. An example of an invalid length is data of nchar type with an odd length "
                         "in bytes."),
}


def rpc_parameter(problem: str, ordinal: int, name: str, type_id: int, type_name: str) -> SqlError:
    """An RPC parameter SQL Server refuses (8007, 8009, 8016, 8017, 8023, 8028)."""
    number, detail = _PARAMETER_PROBLEMS[problem]
    text = detail.format(type_id=type_id, type_name=type_name)
    return SqlError(number, f'{_RPC_STREAM} Parameter {ordinal} ("{name}"): {text}', state=1)


def too_many_parameters(limit: int) -> SqlError:
    return SqlError(8003, f"{_RPC_STREAM} Too many parameters were provided in this RPC request. The maximum is "
                    f"{limit}.", state=1)


def rpc_name_invalid() -> SqlError:
    return SqlError(8004, f"{_RPC_STREAM} The RPC name is invalid.", state=1)


def stream_ended() -> SqlError:
    return SqlError(4002, "The incoming tabular data stream (TDS) protocol stream is incorrect. The stream ended "
                    "unexpectedly.", state=1)


def request_too_large(limit: int) -> SqlError:
    """A batch or RPC longer than the emulator holds in memory (SQL Server takes up to 65,536 packets)."""
    return unsupported(f"requests larger than {limit // (1024 * 1024)} MiB (the emulator's limit)")


def internal_error() -> SqlError:
    """The emulator failed where SQL Server would not have (a bug): the request ends, the connection stays."""
    return SqlError(8630, "Internal Query Processor Error: The query processor encountered an unexpected error "
                    "during execution.", state=1, severity=16)


# -- informational messages (INFO tokens) -----------------------------------------------------------
def changed_database(database: str) -> SqlError:
    return SqlError(5701, f"Changed database context to '{database}'.", state=2, severity=0)


def changed_language(language: str) -> SqlError:
    return SqlError(5703, f"Changed language setting to {language}.", state=1, severity=0)


def print_message(text: str) -> SqlError:
    return SqlError(0, text, state=1, severity=0)


# -- statements -------------------------------------------------------------------------------------
def nested_too_deeply() -> SqlError:
    return SqlError(191, "Some part of your SQL statement is nested too deeply. Rewrite the query or break it up "
                    "into smaller queries.", state=1, severity=15)


def syntax_error(near: str) -> SqlError:
    return SqlError(102, f"Incorrect syntax near '{near}'.", state=1, severity=15)


def unsupported(keyword: str) -> SqlError:
    return SqlError(40517, f"Keyword or statement option '{keyword}' is not supported in this version of SQL "
                    "Server.", state=1, severity=16)


def invalid_object(name: str) -> SqlError:
    return SqlError(208, f"Invalid object name '{name}'.", state=1, severity=16)


def invalid_column(name: str) -> SqlError:
    return SqlError(207, f"Invalid column name '{name}'.", state=1, severity=16)


def not_builtin_function(name: str) -> SqlError:
    return SqlError(195, f"'{name}' is not a recognized built-in function name.", state=10, severity=15)


def object_exists(name: str) -> SqlError:
    return SqlError(2714, f"There is already an object named '{name}' in the database.", state=6)


def system_catalog_update() -> SqlError:
    return SqlError(259, "Ad hoc updates to system catalogs are not allowed.", state=1)


def cannot_drop_view(name: str) -> SqlError:
    return SqlError(3701, f"Cannot drop the view '{name}', because it does not exist or you do not have "
                    "permission.", state=5, severity=11)


def reserved_name(name: str) -> SqlError:
    """Names starting with __ or sqlite_ belong to the emulator's own tables and SQLite's: never created
    by a user (a refusal with no SQL Server twin)."""
    return unsupported(f"the name {name} (names starting with __ or sqlite_ are reserved by the emulator)")


def cannot_drop_table(name: str) -> SqlError:
    return SqlError(3701, f"Cannot drop the table '{name}', because it does not exist or you do not have "
                    "permission.", state=5, severity=11)


def primary_key_violation(table: str) -> SqlError:
    """SQL Server ends the message with "The duplicate key value is (…)." too; SQLite does not say which row."""
    return SqlError(2627, f"Violation of PRIMARY KEY constraint 'PK_{table}'. Cannot insert duplicate key in "
                    f"object 'dbo.{table}'.", state=1, severity=14)


def unique_violation(table: str) -> SqlError:
    return SqlError(2627, f"Violation of UNIQUE KEY constraint 'UQ_{table}'. Cannot insert duplicate key in "
                    f"object 'dbo.{table}'.", state=1, severity=14)


def null_not_allowed(column: str, table: str, database: str, action: str) -> SqlError:
    return SqlError(515, f"Cannot insert the value NULL into column '{column}', table '{database}.dbo.{table}'; "
                    f"column does not allow nulls. {action} fails.", state=2, severity=16)


def constraint_conflict(detail: str) -> SqlError:
    return SqlError(547, f"The statement conflicted with a constraint: {detail}.", state=0, severity=16)


def conversion_failed(detail: str) -> SqlError:
    return SqlError(245, f"Conversion failed: {detail}.", state=1, severity=16)


# -- conversions (messages as sys.messages has them; the type names as SQL Server writes them: numeric for
# decimal, varchar/nvarchar for strings, expression for the result of an operator) ----------------------
def arithmetic_overflow(source: str, target: str) -> SqlError:
    return SqlError(8115, f"Arithmetic overflow error converting {source} to data type {target}.", state=8)


def overflow_for_type(target: str, value: object) -> SqlError:
    """An integer that does not fit tinyint/smallint (SQL Server names the value)."""
    return SqlError(220, f"Arithmetic overflow error for data type {target}, value = {value}.", state=2)


def error_converting(source: str, target: str) -> SqlError:
    return SqlError(8114, f"Error converting data type {source} to {target}.", state=5)


def conversion_failed_value(source: str, value: str, target: str) -> SqlError:
    return SqlError(245, f"Conversion failed when converting the {source} value '{value}' to data type {target}.",
                    state=1)


def date_conversion_failed() -> SqlError:
    return SqlError(241, "Conversion failed when converting date and/or time from character string.", state=1)


def date_out_of_range(source: str, target: str) -> SqlError:
    return SqlError(242, f"The conversion of a {source} data type to a {target} data type resulted in an out-of-range "
                    "value.", state=3)


def guid_conversion_failed() -> SqlError:
    return SqlError(8169, "Conversion failed when converting from a character string to uniqueidentifier.", state=2)


def money_syntax() -> SqlError:
    return SqlError(235, "Cannot convert a char value to money. The char value has incorrect syntax.", state=0)


def implicit_conversion(source: str, target: str) -> SqlError:
    return SqlError(257, f"Implicit conversion from data type {source} to {target} is not allowed. Use the CONVERT "
                    "function to run this query.", state=3)


def explicit_conversion(source: str, target: str) -> SqlError:
    return SqlError(529, f"Explicit conversion from data type {source} to {target} is not allowed.", state=2)


def operand_clash(source: str, target: str) -> SqlError:
    return SqlError(206, f"Operand type clash: {source} is incompatible with {target}", state=2)


def identity_insert_off(table: str) -> SqlError:
    return SqlError(544, f"Cannot insert explicit value for identity column in table '{table}' when IDENTITY_INSERT "
                    "is set to OFF.", state=1, severity=16)


def identity_value_required(table: str) -> SqlError:
    return SqlError(545, f"Explicit value must be specified for identity column in table '{table}' either when "
                    "IDENTITY_INSERT is set to ON or when a replication user is inserting into a NOT FOR "
                    "REPLICATION identity column.", state=1, severity=16)


def identity_needs_column_list(table: str) -> SqlError:
    return SqlError(8101, f"An explicit value for the identity column in table '{table}' can only be specified when "
                    "a column list is used and IDENTITY_INSERT is ON.", state=1, severity=16)


def no_identity_property(table: str) -> SqlError:
    return SqlError(8106, f"Table '{table}' does not have the identity property. Cannot perform SET operation.",
                    state=1, severity=16)


def identity_insert_already_on(database: str, table: str, other: str) -> SqlError:
    return SqlError(8107, f"IDENTITY_INSERT is already ON for table '{database}.dbo.{table}'. Cannot perform SET "
                    f"operation for table '{other}'.", state=1, severity=16)


def insert_values_mismatch(more_values: bool) -> SqlError:
    if more_values:
        return SqlError(110, "There are fewer columns in the INSERT statement than values specified in the VALUES "
                        "clause. The number of values in the VALUES clause must match the number of columns "
                        "specified in the INSERT statement.", state=1, severity=15)
    return SqlError(109, "There are more columns in the INSERT statement than values specified in the VALUES "
                    "clause. The number of values in the VALUES clause must match the number of columns specified "
                    "in the INSERT statement.", state=1, severity=15)


def string_truncated(table: str, column: str, value: str) -> SqlError:
    """SQL Server 2019+ and Azure SQL Database (VERBOSE_TRUNCATION_WARNINGS on): the table, the column and
    the value as it would have been cut."""
    return SqlError(2628, f"String or binary data would be truncated in table '{table}', column '{column}'. "
                    f"Truncated value: '{value}'.", state=1)


def bad_style(style: int, source: str) -> SqlError:
    return SqlError(281, f"{style} is not a valid style number when converting from {source} to a character string.",
                    state=1)


# -- declared types (CREATE TABLE, DECLARE, procedure parameters) ----------------------------------------
def precision_too_large(ordinal: int, precision: int) -> SqlError:
    return SqlError(2750, f"Column or parameter #{ordinal}: Specified column precision {precision} is greater than "
                    "the maximum precision of 38.", state=1)


def scale_too_large(ordinal: int, scale: int, precision: int) -> SqlError:
    return SqlError(2751, f"Column or parameter #{ordinal}: Specified column scale {scale} is greater than the "
                    f"specified precision of {precision}.", state=1)


def invalid_scale(scale: int) -> SqlError:
    return SqlError(1002, f"Line 1: Specified scale {scale} is invalid.", state=1, severity=15)


def invalid_length(length: int) -> SqlError:
    return SqlError(1001, f"Line 1: Length or precision specification {length} is invalid.", state=1, severity=15)


def size_too_large(column: str, size: int, limit: int) -> SqlError:
    return SqlError(131, f"The size ({size}) given to the column '{column}' exceeds the maximum allowed for any data "
                    f"type ({limit}).", state=2, severity=15)


def not_recognized_option(name: str, kind: str) -> SqlError:
    return SqlError(195, f"'{name}' is not a recognized {kind} option.", state=1, severity=15)


def set_out_of_range(option: str, value: int) -> SqlError:
    return SqlError(2742, f"SET {option} {value} is out of range.", state=1)


def invalid_dateformat(order: str) -> SqlError:
    return SqlError(2741, f"SET DATEFORMAT date order '{order}' is invalid.", state=1)


def unknown_language(name: str) -> SqlError:
    return SqlError(2740, f"SET LANGUAGE failed because '{name}' is not an official language name or a language "
                    "alias on this SQL Server.", state=1)


def aggregate_of_aggregate() -> SqlError:
    return SqlError(130, "Cannot perform an aggregate function on an expression containing an aggregate or a "
                    "subquery.", state=1)


def wrong_argument_count(function: str) -> SqlError:
    return SqlError(174, f"The {function.lower()} function requires a different number of arguments.", state=1,
                    severity=15)


def divide_by_zero() -> SqlError:
    return SqlError(8134, "Divide by zero error encountered.", state=1, severity=16)


def must_declare(variable: str) -> SqlError:
    return SqlError(137, f'Must declare the scalar variable "{variable}".', state=2, severity=15)


def use_not_supported() -> SqlError:
    return SqlError(40508, "USE statement is not supported to switch between databases. Use a new connection "
                    "to connect to a different database.", state=1, severity=16)


def procedure_not_found(name: str) -> SqlError:
    return SqlError(2812, f"Could not find stored procedure '{name}'.", state=62, severity=16)


def procedure_expects(procedure: str, parameter: str) -> SqlError:
    return SqlError(201, f"Procedure or function '{procedure}' expects parameter '{parameter}', which was not "
                    "supplied.", state=4, severity=16)


def prepared_not_found(handle: int) -> SqlError:
    return SqlError(8179, f"Could not find prepared statement with handle {handle}.", state=4, severity=16)


def lock_timeout() -> SqlError:
    return SqlError(1222, "Lock request time out period exceeded.", state=56, severity=16)


def commit_without_begin() -> SqlError:
    return SqlError(3902, "The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION.", state=1)


def rollback_without_begin() -> SqlError:
    return SqlError(3903, "The ROLLBACK TRANSACTION request has no corresponding BEGIN TRANSACTION.", state=1)


def emulator_failure(detail: str) -> SqlError:
    """A statement the emulator's engine (SQLite) could not run, for a reason with no SQL Server twin."""
    return SqlError(40517, f"Keyword or statement option '{detail}' is not supported in this version of SQL "
                    "Server.", state=2, severity=16)


# -- permissions ------------------------------------------------------------------------------------
def permission_denied(permission: str, obj: str, database: str, schema: str = "dbo") -> SqlError:
    return SqlError(229, f"The {permission} permission was denied on the object '{obj}', database "
                    f"'{database}', schema '{schema}'.", state=5, severity=14)


def create_table_denied(database: str) -> SqlError:
    return SqlError(262, f"CREATE TABLE permission denied in database '{database}'.", state=1, severity=14)


def no_permission_for_action() -> SqlError:
    return SqlError(15247, "User does not have permission to perform this action.", state=1, severity=16)


# -- users and roles --------------------------------------------------------------------------------
def principal_not_found(name: str) -> SqlError:
    return SqlError(33130, f"Principal '{name}' could not be found or this principal type is not supported.",
                    state=1, severity=16)


def duplicate_display_name(name: str) -> SqlError:
    return SqlError(33131, f"Principal '{name}' has a duplicate display name. Make the display name unique in "
                    "Azure Active Directory and execute this statement again.", state=1, severity=16)


def invalid_object_id(value: str) -> SqlError:
    return SqlError(33130, f"Principal with object id '{value}' could not be found or this principal type is "
                    "not supported.", state=2, severity=16)


def sid_not_16_bytes() -> SqlError:
    return SqlError(15419, "Supplied parameter sid should be binary(16).", state=1)


def user_exists(name: str) -> SqlError:
    return SqlError(15023, f"User, group, or role '{name}' already exists in the current database.", state=1)


def cannot_drop_user(name: str) -> SqlError:
    return SqlError(15151, f"Cannot drop the user '{name}', because it does not exist or you do not have "
                    "permission.", state=1)


def cannot_alter_role(role: str) -> SqlError:
    return SqlError(15151, f"Cannot alter the role '{role}', because it does not exist or you do not have "
                    "permission.", state=1)


def cannot_add_principal(name: str) -> SqlError:
    return SqlError(15151, f"Cannot add the principal '{name}', because it does not exist or you do not have "
                    "permission.", state=1)


def cannot_use_special_principal(name: str) -> SqlError:
    """dbo, the fixed roles and the system users cannot be added to a role."""
    return SqlError(15405, f"Cannot use the special principal '{name}'.", state=1, severity=11)


def cannot_find_object(name: str) -> SqlError:
    """GRANT on an object the grantor may not see (metadata visibility: it holds no permission on it)."""
    return SqlError(15151, f"Cannot find the object '{name}', because it does not exist or you do not have "
                    "permission.", state=1)


def grantor_lacks_permission() -> SqlError:
    return SqlError(4613, "Grantor does not have GRANT permission.", state=1)


def cannot_grant_to_self() -> SqlError:
    return SqlError(4624, "Cannot grant, deny, or revoke permissions to sa, dbo, entity owner, information_schema, "
                    "sys, or yourself.", state=1)


def cannot_find_user(name: str) -> SqlError:
    return SqlError(15151, f"Cannot find the user '{name}', because it does not exist or you do not have "
                    "permission.", state=1)


def no_column_name(ordinal: int, table: str) -> SqlError:
    return SqlError(8155, f"No column name was specified for column {ordinal} of '{table}'.", state=1, severity=16)


def save_without_transaction() -> SqlError:
    return SqlError(628, "Cannot issue SAVE TRANSACTION when there is no active transaction.", state=0,
                    severity=16)


def no_such_savepoint(name: str) -> SqlError:
    return SqlError(6401, f"Cannot roll back {name}. No transaction or savepoint of that name was found.",
                    state=1, severity=16)


# -- stored procedures --------------------------------------------------------------------------------
def schema_not_found(schema: str) -> SqlError:
    return SqlError(2760, f'The specified schema name "{schema}" either does not exist or you do not have '
                    "permission to use it.", state=1, severity=16)


def parameter_declared_twice(parameter: str, procedure: str) -> SqlError:
    return SqlError(134, f"The variable name '@{parameter}' has already been declared. Variable names must be "
                    "unique within a query batch or stored procedure.", state=1, severity=15)


def cannot_drop_procedure(name: str) -> SqlError:
    return SqlError(3701, f"Cannot drop the procedure '{name}', because it does not exist or you do not have "
                    "permission.", state=14, severity=11)


def create_procedure_denied(database: str) -> SqlError:
    return SqlError(262, f"CREATE PROCEDURE permission denied in database '{database}'.", state=1, severity=14)


def positional_after_named() -> SqlError:
    return SqlError(119, "Must pass parameter number 2 and subsequent parameters as '@name = value'. After the "
                    "form '@name = value' has been used, all subsequent parameters must be passed in the form "
                    "'@name = value'.", state=1, severity=15)


def too_many_arguments(procedure: str) -> SqlError:
    return SqlError(8144, f"Procedure or function {procedure} has too many arguments specified.", state=2,
                    severity=16)


def not_a_parameter(argument: str, procedure: str) -> SqlError:
    return SqlError(8145, f"@{argument.lstrip('@')} is not a parameter for procedure {procedure}.", state=2,
                    severity=16)


def not_an_output_parameter(parameter: str) -> SqlError:
    return SqlError(8162, f'The formal parameter "@{parameter}" was not declared as an OUTPUT parameter, but the '
                    "actual parameter passed in requested output.", state=2, severity=16)


def nesting_exceeded(limit: int) -> SqlError:
    return SqlError(217, f"Maximum stored procedure, function, trigger, or view nesting level exceeded (limit "
                    f"{limit}).", state=1, severity=16)


def return_value_not_allowed() -> SqlError:
    return SqlError(178, "A RETURN statement with a return value cannot be used in this context.", state=1,
                    severity=15)


def must_be_first_in_batch(statement: str) -> SqlError:
    return SqlError(111, f"'{statement}' must be the first statement in a query batch.", state=1, severity=15)


def raised(number: int, message: str, severity: int, state: int) -> SqlError:
    """RAISERROR / THROW: the error the statement raises (50000 for a message given as text)."""
    return SqlError(number, message, state=state, severity=severity)


def severity_needs_sysadmin() -> SqlError:
    return SqlError(2754, "Error severity levels greater than 18 can only be specified by members of the sysadmin "
                    "role, using the WITH LOG option.", state=1, severity=16)


def no_such_message(number: int, severity: int, state: int) -> SqlError:
    return SqlError(18054, f"Error {number}, severity {severity}, state {state} was raised, but no message with "
                    "that error number was found in sys.messages. If error is larger than 50000, make sure the "
                    "user-defined message is added using sp_addmessage.", state=1, severity=16)


def throw_number_out_of_range(number: int) -> SqlError:
    return SqlError(35100, f"Error number {number} in the THROW statement is outside the valid range. Specify an "
                    "error number in the valid range of 50000 to 2147483647.", state=10, severity=16)


def throw_state_out_of_range(state: int) -> SqlError:
    return SqlError(35102, f"State {state} in the THROW statement is outside the valid range. Specify a state in "
                    "the valid range of 0 to 255.", state=1, severity=16)


def rethrow_outside_catch() -> SqlError:
    return SqlError(10704, "To rethrow an error, a THROW statement must be used inside a CATCH block.", state=1,
                    severity=15)


def cross_database(name: str) -> SqlError:
    """Azure SQL Database: a name with another database (or a linked server) in it."""
    return SqlError(40515, f"Reference to database and/or server name in '{name}' is not supported in this version "
                    "of SQL Server.", state=1, severity=15)
