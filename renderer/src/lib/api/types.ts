// The only window the renderer has onto the rest of Sekisho: the ControlApi contract, as
// types. Nothing here may import runtime code from services/ (ARCHITECTURE).
export type {
  ControlApi,
  ControlEvent,
  TableView,
  SaveTableRequest,
  SaveTableResult,
  ServiceName,
  ServiceStatus,
  QueueEntry,
  LogKind,
  LogQuery,
  LogLine,
  ExplainRequest,
  ExplainResult,
  AccountView,
  TlsInfo,
  VersionInfo,
  Diagnostic,
  TableName,
  Settings,
  TextFileFormat,
} from '../../../../services/control/api.js';
