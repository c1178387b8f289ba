// Test classes start their own servers and peers on free ports, so classes may run side by side.
[assembly: Parallelize(Workers = 2, Scope = ExecutionScope.ClassLevel)]
