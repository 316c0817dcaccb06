"""`/v1/models`: every name the registry routes, aliases included."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from zoetrope.access.keys import Principal
from zoetrope.api.deps import Services, principal, services
from zoetrope.api.schemas import Model, ModelList
from zoetrope.errors import NotFound, PermissionDenied, shown

router = APIRouter(prefix="/v1/models", tags=["models"])


@router.get("", response_model=ModelList)
def list_models(svc: Services = Depends(services), _: Principal = Depends(principal)) -> ModelList:
    return ModelList(data=[Model(id=m.id) for m in svc.registry.listings()])


@router.get("/{model_id}", response_model=Model)
def retrieve_model(
    model_id: str, svc: Services = Depends(services), _: Principal = Depends(principal)
) -> Model:
    _check_listed(svc, model_id)
    return Model(id=model_id)


# The `openai` client's models.delete: this server's models are the ones its configuration names,
# so deleting one is refused as OpenAI refuses deleting a model one does not own (403), not a 405.
@router.delete("/{model_id}", include_in_schema=False)
def delete_model(model_id: str, svc: Services = Depends(services), _: Principal = Depends(principal)) -> None:
    _check_listed(svc, model_id)
    raise PermissionDenied(
        f"model {shown(model_id)} cannot be deleted: this server's models are the ones its "
        "configuration file names (remove it there)",
        param="model",
        code="model_not_deletable",
    )


def _check_listed(svc: Services, model_id: str) -> None:
    if model_id not in {m.id for m in svc.registry.listings()}:
        raise NotFound(f"no model {shown(model_id)}", param="model")
