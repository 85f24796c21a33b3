# The daemon library (everything but main) and the audit-replayd program.
add_library(audit_daemon
  body_ingest.cc
  raw_ingest.cc
  control_server.cc
  daemon.cc
  export_stream.cc
  delivery_metrics.cc
  job.cc
  job_request.cc
  logging.cc
  memory.cc
  replay_job.cc
  replay_service.cc
  spool_watcher.cc
  webhook_override.cc
  webhook_state.cc
)
target_include_directories(audit_daemon PUBLIC ${AUDIT_SOURCE_ROOT})
target_link_libraries(audit_daemon
  PUBLIC audit_config audit_store audit_kafka audit_webhook audit_http_api audit_systemd audit_common
         Boost::json spdlog::spdlog
  PRIVATE audit_warnings)

add_executable(audit-replayd main.cc)
target_link_libraries(audit-replayd PRIVATE audit_daemon audit_warnings)
install(TARGETS audit-replayd RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
