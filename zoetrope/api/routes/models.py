"""`/v1/models`: every name the registry routes, aliases included."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from zoetrope.access.keys import Principal
from zoetrope.api.deps import Services, principal, services
from zoetrope.api.schemas import Model, ModelList
from zoetrope.errors import NotFound, shown

router = APIRouter(prefix="/v1/models", tags=["models"])


@router.get("", response_model=ModelList)
def list_models(svc: Services = Depends(services), _: Principal = Depends(principal)) -> ModelList:
    return ModelList(data=[Model(id=m.id) for m in svc.registry.listings()])


@router.get("/{model_id}", response_model=Model)
def retrieve_model(
    model_id: str, svc: Services = Depends(services), _: Principal = Depends(principal)
) -> Model:
    if model_id not in {m.id for m in svc.registry.listings()}:
        raise NotFound(f"no model {shown(model_id)}", param="model")
    return Model(id=model_id)
