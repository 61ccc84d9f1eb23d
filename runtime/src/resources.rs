//! Process and system resources: CPU, memory, file descriptors, threads, disk and network I/O, sampled periodically and exported as series.
