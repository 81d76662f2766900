"""GraphQL execution that reads plain fields directly.

Strawberry resolves every field through its own resolver wrapper: a plain attribute goes through
``StrawberryField.get_result``, a method through argument conversion, an ``Info`` object and a
chain of field extensions, and graphql-core then completes each value through several generic
steps. An impact page shows a few hundred fields, most of them plain attributes or methods of
the object at hand, so that machinery is most of a request's CPU.

:class:`DirectExecution` is graphql-core's executor (the one Strawberry uses) with shortcuts
decided once per field definition:

- a field Strawberry would resolve with its default resolver is read with ``getattr``; a field
  whose resolver takes only the parent object (``self`` or ``root``: no ``info``, no arguments, no
  field extensions, not ``async``) is called with it directly;
- a value of a scalar or enum type, or of a list of them, is coerced right there;
- an object, or a list of objects, has its subfields executed right away (for an interface or
  union, the runtime type its ``resolve_type`` names is checked once per name, ``is_type_of``
  on every value).

The fields an object selects are collected once per (object type, selection) and execution, as
graphql-core collects them, and kept with each field's definition and plan, so that completing the
objects of a list runs one loop over that prepared selection per object: no field lookup, no path
object for a field whose value is a plain scalar.

Anything else (a null where the type forbids one, a value the type cannot represent, an error
raised by a resolver, a refused runtime type, a field with directives) goes through the
executor's own completion with the value read, so errors, paths and nulls are exactly those of
the standard execution. Fields with arguments or ``info`` keep Strawberry's resolver.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple, TypeVar

from graphql.execution.collect_fields import FieldDetailsList
from graphql.execution.executor import collect_iterator_awaitables, to_nodes
from graphql.pyutils import AwaitableOrValue, Path, gather_with_cancel
from graphql.pyutils.undefined import UndefinedType
from graphql.type.scalars import GRAPHQL_MAX_INT, GRAPHQL_MIN_INT
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import CustomGraphQLEnumType
from strawberry.types.field import StrawberryField

from graphql import (
    GraphQLAbstractType,
    GraphQLBoolean,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLString,
    Undefined,
    is_abstract_type,
    is_leaf_type,
)

#: Strawberry's link from a graphql-core field to its own field definition.
_DEFINITION = "strawberry-definition"
#: Where a field's plan is kept, in the field definition's ``extensions``.
_PLAN = "lineage-direct-plan"


class _Miss:
    """A value the shortcut does not complete (the executor's completion does)."""


_MISS = _Miss()


class _Leaf(NamedTuple):
    """How to coerce a scalar or enum value, or a list of them, of one field."""

    coerce: Callable[[Any], Any]
    non_null: bool
    #: None: not a list; else whether the list's items are non-null.
    items_non_null: bool | None
    #: A value of exactly this type is its own coercion (a ``str`` of a String or ID field, a
    #: ``bool`` of a Boolean field, an ``int`` within 32 bits of an Int field; None: always
    #: coerce). Not for lists.
    exact: type | None = None

    def complete(self, value: Any) -> Any:
        """The coerced value, or :data:`_MISS` for anything the executor must complete itself
        (a null where the type forbids one, an error, a value the type refuses)."""
        if value is None:
            return _MISS if self.non_null else None
        coerce = self.coerce
        if self.items_non_null is None:
            if isinstance(value, Exception):
                return _MISS
            try:
                coerced = coerce(value)
            except Exception:
                return _MISS
            return _MISS if coerced is None or coerced is Undefined else coerced
        if type(value) is not list and type(value) is not tuple:
            return _MISS
        out: list[Any] = []
        for item in value:
            if item is None:
                if self.items_non_null:
                    return _MISS
                out.append(None)
                continue
            if isinstance(item, Exception):
                return _MISS
            try:
                coerced = coerce(item)
            except Exception:
                return _MISS
            if coerced is None or coerced is Undefined:
                return _MISS
            out.append(coerced)
        return out


class _Object(NamedTuple):
    """How to complete an object value, or a list of them, of one field."""

    #: The field's type with its non-null wrapper removed: an object type, an interface or
    #: union, or a list of one of these.
    type: GraphQLOutputType
    #: The object, interface or union type of the value (of each item, for a list).
    named: GraphQLObjectType | GraphQLAbstractType
    #: The type of a list's items as declared (possibly non-null); None: not a list.
    item_type: GraphQLOutputType | None
    #: Runtime types already checked for an abstract type, by name.
    runtime: dict[str, GraphQLObjectType]


class _At(NamedTuple):
    """Where a field's value is completed."""

    field_def: GraphQLField
    parent_type: GraphQLObjectType
    field_details_list: FieldDetailsList
    path: Path
    position_context: Any


class _Plan(NamedTuple):
    """How one field is resolved: ``read`` (None: through Strawberry's resolver), then ``leaf``
    or ``object`` completion (None: the executor's own)."""

    read: Callable[[Any], Any] | None
    leaf: _Leaf | None
    object: _Object | None


class _Entry(NamedTuple):
    """One field of a prepared selection: its response name, its nodes, its definition, its plan's
    reader and the plan (reader None: the executor's ``execute_field``), and the type a value of
    this field is complete as read (see ``_Leaf.exact``)."""

    name: str
    details: FieldDetailsList
    field_def: GraphQLField | None
    read: Callable[[Any], Any] | None
    plan: _Plan | None
    exact: type[Any] | None


def _coercion(type_: GraphQLLeafType) -> Callable[[Any], Any]:
    """The type's output coercion. Strawberry's enum types look a Python enum member up by
    scanning the enum's values; here members are looked up in a table made once (the first
    value whose value equals the member's, as Strawberry finds it), anything else is left to
    the type."""
    coerce = type_.coerce_output_value
    if not isinstance(type_, CustomGraphQLEnumType) or not isinstance(type_.wrapped_cls, type):
        return coerce
    names: dict[Any, str] = {}
    members: list[Any] = list(type_.wrapped_cls)
    for member in members:
        for name, value in type_.values.items():
            if member.value == value.value:
                names[member] = name
                break
    wrapped = type_.wrapped_cls

    def enum_name(value: Any) -> Any:
        if type(value) is wrapped:
            name = names.get(value)
            if name is not None:
                return name
        return coerce(value)

    return enum_name


#: graphql-core's output coercions that return a value of this exact type unchanged (an ``int`` only
#: within 32 bits).
_EXACT: dict[Any, type] = {
    GraphQLInt.coerce_output_value: int,
    GraphQLString.coerce_output_value: str,
    GraphQLID.coerce_output_value: str,
    GraphQLBoolean.coerce_output_value: bool,
}


def _leaf(type_: GraphQLOutputType) -> _Leaf | None:
    non_null = isinstance(type_, GraphQLNonNull)
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if is_leaf_type(inner):
        exact = _EXACT.get(inner.coerce_output_value) if isinstance(inner, GraphQLScalarType) else None
        return _Leaf(_coercion(inner), non_null, None, exact)
    if isinstance(inner, GraphQLList):
        item = inner.of_type
        items_non_null = isinstance(item, GraphQLNonNull)
        item = item.of_type if isinstance(item, GraphQLNonNull) else item
        if is_leaf_type(item):
            return _Leaf(_coercion(item), non_null, items_non_null)
    return None


def _object(type_: GraphQLOutputType) -> _Object | None:
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    item_type = None
    named = inner
    if isinstance(inner, GraphQLList):
        item_type = inner.of_type
        named = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
    if isinstance(named, GraphQLObjectType) or is_abstract_type(named):
        return _Object(inner, named, item_type, {})
    return None


def _reader(field_def: GraphQLField) -> Callable[[Any], Any] | None:
    """A direct reader of the field's value from its parent object, when it is safe to skip
    Strawberry's resolver; else None."""
    field = (field_def.extensions or {}).get(_DEFINITION)
    if not isinstance(field, StrawberryField) or field.extensions or field_def.args:
        return None
    resolver = field.base_resolver
    if resolver is None:
        if not getattr(field_def.resolve, "_is_default", False) or field.default_resolver is not getattr:
            return None
        name = field.python_name

        def attribute(source: Any) -> Any:
            return getattr(source, name)

        return attribute
    if resolver.is_async or resolver.info_parameter is not None or resolver.arguments:
        return None
    function = resolver.wrapped_func
    if not callable(function):
        return None
    if resolver.self_parameter is not None:
        if resolver.root_parameter is not None or resolver.parent_parameter is not None:
            return None
        return function
    keyword = resolver.root_parameter or resolver.parent_parameter
    if keyword is None:
        return lambda source: function()
    key = keyword.name
    return lambda source: function(**{key: source})


def plan(field_def: GraphQLField) -> _Plan:
    """How :class:`DirectExecution` resolves this field: decided on first use, then kept with
    the field definition (a schema's definitions do not change once built)."""
    extensions = field_def.extensions
    found = extensions.get(_PLAN)
    if isinstance(found, _Plan):
        return found
    read = _reader(field_def)
    leaf = _leaf(field_def.type) if read is not None else None
    found = _Plan(read, leaf, _object(field_def.type) if read is not None and leaf is None else None)
    extensions[_PLAN] = found
    return found


_Results = TypeVar("_Results", dict[str, Any], list[Any])


async def _gather(results: _Results, pending: list[Any]) -> _Results:
    """``results`` (an object's fields or a list's items) with the awaitables at the ``pending``
    keys awaited, together, in place."""
    if len(pending) == 1:
        results[pending[0]] = await results[pending[0]]
        return results
    awaited = await gather_with_cancel(*(results[key] for key in pending))
    for key, value in zip(pending, awaited, strict=True):
        results[key] = value
    return results


class DirectExecution(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, reading plain fields directly (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        #: Field middleware (Strawberry installs extensions with a ``resolve`` hook as middleware)
        #: wraps every resolver: then no field is read directly.
        self._direct = manager is None or not manager.middlewares
        #: Prepared selections by (object type, id of the field nodes), with the nodes kept alive.
        self._selections: dict[tuple[GraphQLObjectType, int], tuple[FieldDetailsList, tuple[_Entry, ...] | None]] = {}

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> AwaitableOrValue[Any] | UndefinedType:
        node = field_details_list[0].node
        field_def = self.schema.get_field(parent_type, node.name.value)
        if field_def is None or node.directives or not self._direct:
            return super().execute_field(parent_type, source, field_details_list, path, position_context)
        found = plan(field_def)
        if found.read is None:
            return super().execute_field(parent_type, source, field_details_list, path, position_context)
        try:
            value = found.read(source)
        except Exception as raw_error:
            self.handle_field_error(raw_error, field_def.type, field_details_list, path)
            return None
        return self._resolved(found, field_def, parent_type, field_details_list, path, value, position_context)

    def _resolved(
        self,
        found: _Plan,
        field_def: GraphQLField,
        parent_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        path: Path,
        value: Any,
        position_context: Any,
    ) -> AwaitableOrValue[Any]:
        """What ``execute_field`` returns for a value read directly."""
        if found.leaf is not None:
            completed = found.leaf.complete(value)
            if completed is not _MISS:
                return completed
        elif found.object is not None and value is not None:
            try:
                at = _At(field_def, parent_type, field_details_list, path, position_context)
                if found.object.item_type is None:
                    completed = self._object(found.object, at, path, value, None)
                else:
                    completed = self._list(found.object, at, value)
                if completed is not _MISS and self.is_awaitable(completed):
                    return self._await_completed(completed, field_def.type, field_details_list, path)
            except Exception as raw_error:
                self.handle_field_error(raw_error, field_def.type, field_details_list, path)
                return None
            if completed is not _MISS:
                return completed
        return self._complete(field_def, parent_type, field_details_list, path, value, position_context)

    # -- prepared selections -------------------------------------------------------------------

    def collect_and_execute_subfields(
        self,
        return_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        if position_context is None:
            entries = self._selection(return_type, field_details_list)
            if entries is not None:
                return self._execute_selection(return_type, result, path, entries)
        return super().collect_and_execute_subfields(return_type, field_details_list, path, result, position_context)

    def _selection(
        self, return_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> tuple[_Entry, ...] | None:
        """The prepared subfields of an object type under these field nodes (None: not for the
        shortcut), memoised on the list's identity as graphql-core memoises collected fields."""
        key = (return_type, id(field_details_list))
        found = self._selections.get(key)
        if found is None:
            found = (field_details_list, self._prepare(return_type, field_details_list))
            self._selections[key] = found
        return found[1]

    def _prepare(
        self, return_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> tuple[_Entry, ...] | None:
        if not self._direct:
            return None
        collected = self.collect_subfields(return_type, field_details_list)
        grouped, new_defer_usages = collected[0], collected[1]
        if new_defer_usages:  # incremental delivery: the executor's own path
            return None
        entries: list[_Entry] = []
        for name, details in grouped.items():
            node = details[0].node
            field_def = self.schema.get_field(return_type, node.name.value)
            found = plan(field_def) if field_def is not None and not node.directives else None
            read = None if found is None else found.read
            exact = None if found is None or found.leaf is None else found.leaf.exact
            entries.append(_Entry(name, details, field_def, read, found, exact))
        return tuple(entries)

    def _execute_selection(
        self, parent_type: GraphQLObjectType, source: Any, path: Path, entries: tuple[_Entry, ...]
    ) -> AwaitableOrValue[dict[str, Any]]:
        """``execute_fields`` over a prepared selection: a plain scalar is stored as read, anything
        else goes through :meth:`_resolved` or the executor's ``execute_field``."""
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable: list[str] = []
        type_name = parent_type.name
        try:
            for name, details, field_def, read, found, exact in entries:
                if read is None or found is None or field_def is None:
                    result = super().execute_field(parent_type, source, details, Path(path, name, type_name), None)
                    if result is Undefined:
                        continue
                else:
                    try:
                        value = read(source)
                    except Exception as raw_error:
                        self.handle_field_error(raw_error, field_def.type, details, Path(path, name, type_name))
                        results[name] = None
                        continue
                    if (
                        exact is not None
                        and type(value) is exact
                        and (exact is not int or GRAPHQL_MIN_INT <= value <= GRAPHQL_MAX_INT)
                    ):
                        results[name] = value
                        continue
                    result = self._resolved(
                        found, field_def, parent_type, details, Path(path, name, type_name), value, None
                    )
                results[name] = result
                if is_awaitable(result):
                    awaitable.append(name)
        except Exception:
            if awaitable:
                self.settle_in_background([results[name] for name in awaitable])
            raise
        if not awaitable:
            return results
        return _gather(results, awaitable)

    def _info(self, at: _At) -> GraphQLResolveInfo[Any]:
        return self.build_resolve_info(at.field_def, to_nodes(at.field_details_list), at.parent_type, at.path)

    def _object(self, plan: _Object, at: _At, path: Path, value: Any, info: GraphQLResolveInfo[Any] | None) -> Any:
        """An object value completed as ``complete_value`` completes it, or :data:`_MISS` when
        it is not a plain object (null, an error, an awaitable, a refused runtime type):
        nothing has run then."""
        if value is None or isinstance(value, Exception) or self.is_awaitable(value):
            return _MISS
        named = plan.named
        if isinstance(named, GraphQLObjectType):
            runtime = named
        else:
            if info is None:
                info = self._info(at)
            resolve_type = named.resolve_type or self.type_resolver
            name = resolve_type(value, info, named)
            if not isinstance(name, str):
                return _MISS
            found = plan.runtime.get(name)
            if found is None:
                try:
                    found = self.ensure_valid_runtime_type(name, named, at.field_details_list, info, value)
                except Exception:
                    return _MISS
                plan.runtime[name] = found
            runtime = found
        if runtime.is_type_of is not None:
            if info is None:
                info = self._info(at)
            accepted = runtime.is_type_of(value, info)
            if accepted is not True:
                return _MISS
        return self.collect_and_execute_subfields(runtime, at.field_details_list, path, value, at.position_context)

    def _list(self, plan: _Object, at: _At, value: Any) -> Any:
        """A list of objects completed item by item as ``complete_iterable_value`` completes it;
        items that are not plain objects go through its own per-item completion."""
        if type(value) is not list and type(value) is not tuple:
            return _MISS
        item_type = plan.item_type
        assert item_type is not None
        is_awaitable = self.is_awaitable
        named = plan.named
        # graphql-core builds one info object per field and hands it to every item: a list whose
        # items need one (an interface's resolve_type, a type's is_type_of) builds it once here.
        needs_info = not isinstance(named, GraphQLObjectType) or named.is_type_of is not None
        info: GraphQLResolveInfo[Any] | None = self._info(at) if needs_info and value else None
        field_details_list, position_context = at.field_details_list, at.position_context
        results: list[Any] = []
        awaitable_indices: list[int] = []
        iterator = iter(value)
        index = 0
        try:
            for item in iterator:
                item_path = at.path.add_key(index, None)
                try:
                    completed = self._object(plan, at, item_path, item, info)
                except Exception as raw_error:
                    self.handle_field_error(raw_error, item_type, field_details_list, item_path)
                    completed = None
                if completed is _MISS:
                    if info is None:
                        info = self._info(at)
                    if is_awaitable(item):
                        results.append(
                            self.complete_awaitable_list_item_value(
                                item, item_type, field_details_list, info, item_path, position_context
                            )
                        )
                        awaitable_indices.append(index)
                    elif self.complete_list_item_value(
                        item, results, item_type, field_details_list, info, item_path, position_context
                    ):
                        awaitable_indices.append(index)
                elif is_awaitable(completed):
                    results.append(self._await_completed(completed, item_type, field_details_list, item_path))
                    awaitable_indices.append(index)
                else:
                    results.append(completed)
                index += 1
        except Exception:
            pending = [results[i] for i in awaitable_indices]
            pending.extend(collect_iterator_awaitables(iterator, is_awaitable))
            if pending:
                self.settle_in_background(pending)
            raise
        if not awaitable_indices:
            return results
        return _gather(results, awaitable_indices)

    def _complete(
        self,
        field_def: GraphQLField,
        parent_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        path: Path,
        value: Any,
        position_context: Any,
    ) -> AwaitableOrValue[Any]:
        """What the executor's ``execute_field`` does with a resolver's value."""
        return_type = field_def.type
        info = self.build_resolve_info(field_def, to_nodes(field_details_list), parent_type, path)
        try:
            if self.is_awaitable(value):
                return self.complete_awaitable_value(
                    return_type, field_details_list, info, path, value, position_context
                )
            completed = self.complete_value(return_type, field_details_list, info, path, value, position_context)
            if self.is_awaitable(completed):
                return self._await_completed(completed, return_type, field_details_list, path)
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
        return completed

    async def _await_completed(
        self,
        completed: Awaitable[Any],
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        path: Path,
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
