/** Requests the agent refuses; the HTTP layer maps them to 404 and 400. */
export class UnknownServiceError extends Error {
  override readonly name = "UnknownServiceError";
}

export class UnknownCheckError extends Error {
  override readonly name = "UnknownCheckError";
}

export class InvalidAgentRequestError extends Error {
  override readonly name = "InvalidAgentRequestError";
}
