/** The whole answer that refuses a connection past its client's cap (a bare 429, as Consul's connection limiter writes). */
export function tooManyConnections(body: string): string {
  return `HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${new TextEncoder().encode(body).length}\r\nConnection: close\r\n\r\n${body}`;
}
