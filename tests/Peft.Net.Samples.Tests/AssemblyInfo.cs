// The samples drive Spectre.Console live progress displays, which must not run concurrently.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
