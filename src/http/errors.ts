/** An HTTP answer other than success; the body is plain text, as Consul writes it. */
export class HttpError extends Error {
  override readonly name = "HttpError";
  readonly status: number;

  constructor(status: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.status = status;
  }
}

export const badRequest = (message: string): HttpError => new HttpError(400, message);
