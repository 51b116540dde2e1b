"""Load ``template.yaml`` and resolve its CloudFormation intrinsics against local resources.

The local stack creates its queues and table *from the template*, so what runs locally has the names,
redrive policies and visibility timeouts the deployed stack has. The resolver implements the
intrinsics the template uses (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``, ``Fn::If`` and the condition
functions, ``Fn::Join``/``Select``/``Split``/``FindInMap``) with CloudFormation's semantics; anything
else is a :class:`TemplateError`, so a template change the local stack cannot mirror fails loudly
instead of silently diverging.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cfnlint.decode

#: The account moto reports for every request unless told otherwise.
ACCOUNT_ID = "123456789012"

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class TemplateError(ValueError):
    """The template (or a parameter given for it) cannot be mirrored locally."""


class _NoValue:
    """``Ref: AWS::NoValue``: the property it stands in is removed."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


def _plain(node: Any) -> Any:
    """cfn-lint's decoder returns dict/str subclasses that carry line marks; tests and boto3 want plain."""
    if isinstance(node, Mapping):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, bool | int | float) or node is None:
        return node
    return str(node)


@dataclass(frozen=True)
class Template:
    """A decoded template (short-form tags such as ``!GetAtt X.Arn`` already expanded)."""

    path: Path
    body: dict[str, Any]

    @property
    def parameters(self) -> dict[str, dict[str, Any]]:
        return dict(self.body.get("Parameters", {}))

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return dict(self.body.get("Resources", {}))

    @property
    def function_globals(self) -> dict[str, Any]:
        return dict(self.body.get("Globals", {}).get("Function", {}))

    def resources_of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """Logical id -> resource, in template order, for one resource type."""
        return {k: v for k, v in self.resources.items() if v.get("Type") == resource_type}


def load_template(path: str | Path) -> Template:
    """Decode a CloudFormation/SAM template (YAML or JSON); raise :class:`TemplateError` if it cannot."""
    path = Path(path)
    body, matches = cfnlint.decode.decode(str(path))
    if body is None or matches:
        raise TemplateError(f"cannot decode {path}: {'; '.join(str(m) for m in matches)}")
    return Template(path=path, body=_plain(body))


def resolve_parameters(template: Template, given: Mapping[str, str] | None) -> dict[str, str]:
    """Template defaults overlaid with ``given``, checked the way CloudFormation checks them."""
    given = dict(given or {})
    unknown = sorted(set(given) - set(template.parameters))
    if unknown:
        raise TemplateError(f"unknown template parameters: {', '.join(unknown)}")
    values: dict[str, str] = {}
    for name, spec in template.parameters.items():
        if name in given:
            value = str(given[name])
        elif "Default" in spec:
            value = _param_str(spec["Default"])
        else:
            raise TemplateError(f"parameter {name} has no default; pass a value for it")
        _check_parameter(name, spec, value)
        values[name] = value
    return values


def _param_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def _check_parameter(name: str, spec: Mapping[str, Any], value: str) -> None:
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in [_param_str(a) for a in allowed]:
        raise TemplateError(f"parameter {name}={value!r} is not one of {allowed}")
    if spec.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            raise TemplateError(f"parameter {name}={value!r} is not a number") from None
        if "MinValue" in spec and number < float(spec["MinValue"]):
            raise TemplateError(f"parameter {name}={value} is below its MinValue {spec['MinValue']}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            raise TemplateError(f"parameter {name}={value} is above its MaxValue {spec['MaxValue']}")


@dataclass
class PhysicalResource:
    """What ``Ref`` and ``Fn::GetAtt`` return for one created (or named) resource."""

    ref: str
    attributes: dict[str, str] = field(default_factory=dict)


class Resolver:
    """Resolves intrinsic functions against parameters, pseudo parameters and registered resources."""

    def __init__(
        self,
        template: Template,
        *,
        stack_name: str,
        region: str,
        parameters: Mapping[str, str] | None = None,
        account_id: str = ACCOUNT_ID,
    ) -> None:
        self.template = template
        self.parameters = resolve_parameters(template, parameters)
        self.pseudo: dict[str, str] = {
            "AWS::StackName": stack_name,
            "AWS::Region": region,
            "AWS::AccountId": account_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/local",
        }
        self.physical: dict[str, PhysicalResource] = {}

    def register(self, logical_id: str, ref: str, **attributes: str) -> None:
        """Record a resource's physical id (what ``Ref`` returns) and its ``GetAtt`` attributes."""
        self.physical[logical_id] = PhysicalResource(ref=ref, attributes=dict(attributes))

    def resolve(self, value: Any) -> Any:
        """Resolve every intrinsic inside ``value``; ``AWS::NoValue`` entries are dropped."""
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, arg),) = value.items()
                if key == "Ref" or key.startswith("Fn::"):
                    return self._function(key, arg)
            out = {k: self.resolve(v) for k, v in value.items()}
            return {k: v for k, v in out.items() if v is not NO_VALUE}
        if isinstance(value, list):
            return [r for r in (self.resolve(v) for v in value) if r is not NO_VALUE]
        return value

    def resolve_str(self, value: Any) -> str:
        """Resolve to a string as CloudFormation passes scalars to properties (``true``, ``60``)."""
        return _param_str(self.resolve(value))

    def condition(self, name: str) -> bool:
        """Evaluate a named condition from the template's ``Conditions``."""
        conditions = self.template.body.get("Conditions", {})
        if name not in conditions:
            raise TemplateError(f"unknown condition {name}")
        return bool(self._condition_value(conditions[name]))

    def is_active(self, resource: Mapping[str, Any]) -> bool:
        """Whether a resource exists under the current parameters (its ``Condition``, if any)."""
        name = resource.get("Condition")
        return True if name is None else self.condition(str(name))

    def _condition_value(self, value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"Condition"}:
            return self.condition(str(value["Condition"]))
        return self.resolve(value)

    def _function(self, name: str, arg: Any) -> Any:
        if name == "Ref":
            return self._ref(str(arg))
        if name == "Fn::GetAtt":
            logical, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
            return self._get_att(str(logical), str(self.resolve(attribute)))
        if name == "Fn::Sub":
            return self._sub(arg)
        if name == "Fn::If":
            condition, if_true, if_false = arg
            return self.resolve(if_true if self.condition(str(condition)) else if_false)
        if name == "Fn::Equals":
            left, right = (_param_str(self._condition_value(a)) for a in arg)
            return left == right
        if name == "Fn::Not":
            return not self._condition_value(arg[0])
        if name == "Fn::And":
            return all(self._condition_value(a) for a in arg)
        if name == "Fn::Or":
            return any(self._condition_value(a) for a in arg)
        if name == "Fn::Join":
            delimiter, items = arg
            return str(delimiter).join(_param_str(v) for v in self.resolve(items))
        if name == "Fn::Split":
            delimiter, text = arg
            return self.resolve_str(text).split(str(delimiter))
        if name == "Fn::Select":
            index, items = arg
            return self.resolve(items)[int(self.resolve(index))]
        if name == "Fn::FindInMap":
            mapping, first, second = (self.resolve_str(a) for a in arg)
            return self.template.body["Mappings"][mapping][first][second]
        raise TemplateError(f"the local stack does not implement {name}")

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.parameters:
            return self.parameters[name]
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.physical:
            return self.physical[name].ref
        raise TemplateError(f"Ref {name}: not a parameter or a resource the local stack created")

    def _get_att(self, logical_id: str, attribute: str) -> str:
        resource = self.physical.get(logical_id)
        if resource is None or attribute not in resource.attributes:
            raise TemplateError(f"Fn::GetAtt {logical_id}.{attribute}: not available locally")
        return resource.attributes[attribute]

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

        def replace(match: re.Match[str]) -> str:
            inner = match.group(1)
            if inner.startswith("!"):
                return "${" + inner[1:] + "}"
            if inner in variables:
                return self.resolve_str(variables[inner])
            if "." in inner and not inner.startswith("AWS::"):
                logical, attribute = inner.split(".", 1)
                return self._get_att(logical, attribute)
            return _param_str(self._ref(inner))

        return _SUB_VARIABLE.sub(replace, str(text))
