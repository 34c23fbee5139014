# ctest report_junit_xsd: write the sample report as JUnit XML and validate it against
# harness/report/junit-10.xsd with xmllint.
execute_process(COMMAND ${TOOL} --sample --junit ${OUT} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "mqtth_report_tool failed (${rc})")
endif()
execute_process(COMMAND ${XMLLINT} --noout --schema ${XSD} ${OUT} RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "JUnit XML does not validate against ${XSD}:\n${err}")
endif()
