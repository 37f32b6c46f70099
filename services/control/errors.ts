// Errors a handler throws on purpose: the message is for the administrator, the status is
// what the HTTP adapter answers (the Electron adapter passes the message on as is).

export class ControlError extends Error {
  constructor(
    /** HTTP status: 400 bad request, 404 not found, 409 conflict (e.g. message being delivered). */
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ControlError';
  }
}

export function badRequest(message: string): ControlError {
  return new ControlError(400, message);
}

export function notFound(message: string): ControlError {
  return new ControlError(404, message);
}

export function conflict(message: string): ControlError {
  return new ControlError(409, message);
}
