"""pydantic's validation errors in Spanish: the translation lives in the domain
(:mod:`routing.spanish`), which the routing file's diagnostics use too."""

from routing.spanish import GENERIC, message, where

__all__ = ["GENERIC", "message", "where"]
