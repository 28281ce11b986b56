"""The /api/v1 router. Order matters: the catch-all GET /{client_id}/{job_id} comes last."""

from fastapi import APIRouter

from gateway.api.routes import admin, inference, jobs, keys, profiles, queue, review, train

api_router = APIRouter()
api_router.include_router(admin.router)
api_router.include_router(keys.router)
api_router.include_router(train.router)
api_router.include_router(inference.router)
api_router.include_router(queue.router)
api_router.include_router(profiles.router)
api_router.include_router(review.router)
api_router.include_router(jobs.router)
