using System.Collections.Immutable;
using System.Globalization;
using SparkControl.Core.Hosts;
using SparkControl.Sim.Server;

namespace SparkControl.Sim.Hosting;

/// <summary>One simulated container: its spec, its state as <c>docker inspect</c> would show it, its log and its process.</summary>
internal sealed class SimContainer(ContainerLaunchSpec spec, TimeProvider time)
{
    private readonly object _gate = new();
    private CancellationTokenSource? _stop;
    private Task? _run;

    public string Id { get; } = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()) + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());
    public string Name => Spec.Name;
    public ContainerLaunchSpec Spec { get; } = spec;
    public DateTimeOffset CreatedAt { get; } = time.GetUtcNow();
    public SimLog Log { get; } = new(time);
    public ContainerStatus Status { get; private set; } = ContainerStatus.Created;
    public int ExitCode { get; private set; }
    public bool OomKilled { get; private set; }
    public DateTimeOffset? StartedAt { get; private set; }
    public DateTimeOffset? FinishedAt { get; private set; }
    public int RestartCount { get; private set; }
    public int Pid { get; private set; }
    public SimModelServer? ModelServer { get; private set; }
    public bool StopRequested { get; private set; }

    /// <summary>Exit code 137 from a model server means the simulated OOM killer struck.</summary>
    public bool OomOnExit137 { get; set; }

    public void Start(Func<CancellationToken, Task<int>> process, SimModelServer? server, int pid, Action<SimContainer> onExited)
    {
        lock (_gate)
        {
            if (StartedAt is not null)
            {
                RestartCount++;
            }

            _stop = new CancellationTokenSource();
            Status = ContainerStatus.Running;
            StartedAt = time.GetUtcNow();
            FinishedAt = null;
            ExitCode = 0;
            OomKilled = false;
            StopRequested = false;
            ModelServer = server;
            Pid = pid;
            var token = _stop.Token;
            _run = Task.Run(async () =>
            {
                int exit;
                try
                {
                    exit = await process(token).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    Log.Append($"simulator: {ex.GetType().Name}: {ex.Message}");
                    exit = 1;
                }

                lock (_gate)
                {
                    Status = ContainerStatus.Exited;
                    ExitCode = exit;
                    OomKilled = exit == 137 && OomOnExit137 && !StopRequested;
                    FinishedAt = time.GetUtcNow();
                }

                Log.Close();
                onExited(this);
            });
        }
    }

    public async Task StopAsync(TimeSpan grace, TimeProvider timeProvider)
    {
        Task? run;
        lock (_gate)
        {
            if (Status != ContainerStatus.Running)
            {
                return;
            }

            StopRequested = true;
            _stop?.Cancel();
            run = _run;
        }

        if (run is not null)
        {
            try
            {
                await run.WaitAsync(grace + TimeSpan.FromSeconds(5), timeProvider).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                lock (_gate)
                {
                    Status = ContainerStatus.Exited;
                    ExitCode = 137;
                    FinishedAt = time.GetUtcNow();
                }
            }
        }
    }

    private long? _memoryLimit;
    private long? _swapLimit;
    private bool _limitsUpdated;

    public void UpdateLimits(long memoryBytes, long swapBytes)
    {
        lock (_gate)
        {
            _memoryLimit = memoryBytes;
            _swapLimit = swapBytes;
            _limitsUpdated = true;
        }
    }

    public ContainerSummary Summary(DateTimeOffset now)
    {
        lock (_gate)
        {
            var status = Status switch
            {
                ContainerStatus.Running => $"Up {Human(now - (StartedAt ?? now))}",
                ContainerStatus.Exited => $"Exited ({ExitCode}) {Human(now - (FinishedAt ?? now))} ago",
                ContainerStatus.Created => "Created",
                _ => Status.ToDockerName(),
            };
            return new ContainerSummary(Id, Name, Spec.Image, Status, status, Spec.Labels.ToImmutableDictionary())
            {
                Command = string.Join(' ', (Spec.Entrypoint is { } entrypoint ? new[] { entrypoint } : []).Concat(Spec.Command)),
            };
        }
    }

    public ContainerInfo Info()
    {
        lock (_gate)
        {
            return new ContainerInfo
            {
                Id = Id,
                Name = Name,
                Image = Spec.Image,
                ImageId = "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Spec.Image))),
                Status = Status,
                OomKilled = OomKilled,
                ExitCode = ExitCode,
                StartedAt = StartedAt,
                FinishedAt = FinishedAt,
                RestartCount = RestartCount,
                MemoryLimitBytes = _limitsUpdated ? _memoryLimit : Spec.MemoryLimitBytes,
                MemorySwapLimitBytes = _limitsUpdated ? _swapLimit : Spec.MemorySwapLimitBytes,
                Labels = Spec.Labels.ToImmutableDictionary(),
            };
        }
    }

    private static string Human(TimeSpan span) => span.TotalMinutes < 1
        ? $"{Math.Max(1, (int)span.TotalSeconds).ToString(CultureInfo.InvariantCulture)} seconds"
        : span.TotalHours < 1 ? $"{(int)span.TotalMinutes} minutes" : $"{(int)span.TotalHours} hours";
}
