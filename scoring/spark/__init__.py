"""Portfolio scoring on Spark (`python -m scoring predict --engine spark`): the single-machine path's feature,
scoring and decision code run inside Spark tasks, each applicant's history brought to their row by a join.

session: the SparkSession and job progress; inputs: the Spark frames of the application rows and the history;
tasks: what runs in the executors (cleaning, the verified bundle and policy cached per process, scoring);
predict: the driver's run, from the input file to one output file written atomically, and the monitoring and
shadow rows the tasks emitted logged into the store by the driver alone. pyspark is imported only when this engine
is used.
"""
