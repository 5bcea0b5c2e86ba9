"""Settings of the event sinks: webhooks (``[[webhooks]]``) and an MQTT broker (``[mqtt]``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = ["MqttConfig", "WebhookConfig"]


class WebhookConfig(BaseModel):
    """A receiver of events (signed POSTs; see :mod:`faceplane.events.webhooks`)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="http(s):// URL that receives JSON events", pattern=r"^https?://")
    name: str | None = Field(
        None, pattern=r"^[\w.-]{1,64}$", description="a name for [collections.X] webhooks = [...] to route alerts to"
    )
    secret: SecretStr = Field(description="HMAC-SHA256 key for the X-Faceplane-Signature header (>= 8 characters)")
    kinds: list[str] = Field(default_factory=list, description="only these event kinds (empty: all)")


class MqttConfig(BaseModel):
    """An MQTT broker that receives every event (see :mod:`faceplane.events.mqtt`; needs faceplane[mqtt])."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(description="broker host")
    port: int = Field(1883, ge=1, le=65535, description="broker port")
    prefix: str = Field("faceplane", description="topics are <prefix>/events/<camera>/<kind>")
    username: str | None = Field(None, description="broker user, if it wants one")
    password: SecretStr | None = Field(None, description="broker password")
