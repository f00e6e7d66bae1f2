using System.Collections.Immutable;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using SparkControl.Core.Storage;
using SparkControl.Core.Streams;

namespace SparkControl.Core.Remote;

/// <summary>A host key seen on first contact (or a changed one), waiting for the operator's approval.</summary>
public sealed record PendingHostKey(string Host, int Port, string KeyType, string KeyBase64, string Fingerprint, string? PreviousFingerprint, DateTimeOffset SeenAt);

/// <summary>The outcome of checking a presented host key.</summary>
public enum HostKeyVerdict
{
    Trusted,
    Unknown,
    Changed,
}

/// <summary>
/// Pinned host keys in the data directory's <c>known_hosts</c> (OpenSSH format, so <c>ssh-keygen -F</c> reads it).
/// A key seen for the first time, or one that differs from the pinned key, is recorded as pending and refused until
/// the operator approves exactly that fingerprint.
/// </summary>
public sealed class HostKeyStore
{
    public const string FileName = "known_hosts";

    private readonly DataDirectory _dataDirectory;
    private readonly TimeProvider _time;
    private readonly object _gate = new();
    private readonly SnapshotStream<ImmutableList<PendingHostKey>> _pending;
    private ImmutableDictionary<string, (string KeyType, string KeyBase64)> _known;

    public HostKeyStore(DataDirectory dataDirectory, TimeProvider time)
    {
        _dataDirectory = dataDirectory;
        _time = time;
        _pending = new SnapshotStream<ImmutableList<PendingHostKey>>(ImmutableList<PendingHostKey>.Empty, time);
        _known = Load();
    }

    public ImmutableList<PendingHostKey> Pending => _pending.Current.Value;

    public IAsyncEnumerable<Versioned<ImmutableList<PendingHostKey>>> WatchPendingAsync(CancellationToken cancellationToken) => _pending.WatchAsync(cancellationToken);

    /// <summary><c>SHA256:</c> and the unpadded base64 of the key blob's SHA-256, as <c>ssh-keygen -lf</c> prints it.</summary>
    public static string Fingerprint(byte[] keyBlob) => "SHA256:" + Convert.ToBase64String(SHA256.HashData(keyBlob)).TrimEnd('=');

    /// <summary>The pinned key's fingerprint for a host, or null.</summary>
    public string? PinnedFingerprint(string host, int port) =>
        _known.TryGetValue(HostPattern(host, port), out var key) ? Fingerprint(Convert.FromBase64String(key.KeyBase64)) : null;

    public (HostKeyVerdict Verdict, string Fingerprint, string? Previous) Check(string host, int port, string keyType, byte[] keyBlob)
    {
        var fingerprint = Fingerprint(keyBlob);
        var pattern = HostPattern(host, port);
        string? previous = null;
        lock (_gate)
        {
            if (_known.TryGetValue(pattern, out var pinned))
            {
                if (pinned.KeyType == keyType && pinned.KeyBase64 == Convert.ToBase64String(keyBlob))
                {
                    return (HostKeyVerdict.Trusted, fingerprint, null);
                }

                previous = Fingerprint(Convert.FromBase64String(pinned.KeyBase64));
            }
        }

        var pending = new PendingHostKey(host, port, keyType, Convert.ToBase64String(keyBlob), fingerprint, previous, _time.GetUtcNow());
        _pending.Publish(list => list.Any(p => p.Host == host && p.Port == port && p.Fingerprint == fingerprint)
            ? list
            : list.RemoveAll(p => p.Host == host && p.Port == port).Add(pending));
        return (previous is null ? HostKeyVerdict.Unknown : HostKeyVerdict.Changed, fingerprint, previous);
    }

    /// <summary>
    /// Pins the pending key of <paramref name="host"/>:<paramref name="port"/> if its fingerprint is
    /// <paramref name="fingerprint"/> (the one the operator compared), replacing any earlier pin.
    /// </summary>
    /// <exception cref="KeyNotFoundException">No key with that fingerprint is pending for the host: connect (test) first.</exception>
    public async Task ApproveAsync(string host, int port, string fingerprint, CancellationToken cancellationToken)
    {
        var pending = Pending.FirstOrDefault(p => p.Host == host && p.Port == port && p.Fingerprint == fingerprint)
            ?? throw new KeyNotFoundException($"No host key {fingerprint} is waiting for approval for {host}:{port}. Test the connection first, then approve the fingerprint it reports.");
        ImmutableDictionary<string, (string, string)> updated;
        lock (_gate)
        {
            updated = _known.SetItem(HostPattern(host, port), (pending.KeyType, pending.KeyBase64));
        }

        await _dataDirectory.WriteAtomicAsync(FileName, Serialize(updated), cancellationToken, UnixFileMode.UserRead | UnixFileMode.UserWrite).ConfigureAwait(false);
        lock (_gate)
        {
            _known = updated;
        }

        _pending.Publish(list => list.Remove(pending));
    }

    /// <summary>The pending key for a host, if any.</summary>
    public PendingHostKey? PendingFor(string host, int port) => Pending.FirstOrDefault(p => p.Host == host && p.Port == port);

    private ImmutableDictionary<string, (string KeyType, string KeyBase64)> Load()
    {
        string? text;
        try
        {
            text = File.Exists(_dataDirectory.Resolve(FileName)) ? File.ReadAllText(_dataDirectory.Resolve(FileName)) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            text = null;
        }

        var known = ImmutableDictionary.CreateBuilder<string, (string, string)>(StringComparer.Ordinal);
        foreach (var raw in (text ?? string.Empty).Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#') || line.StartsWith('|'))
            {
                continue;
            }

            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 3)
            {
                continue;
            }

            foreach (var pattern in parts[0].Split(','))
            {
                known[pattern] = (parts[1], parts[2]);
            }
        }

        return known.ToImmutable();
    }

    private static string Serialize(ImmutableDictionary<string, (string KeyType, string KeyBase64)> known)
    {
        var text = new StringBuilder("# Host keys pinned by Spark Control (OpenSSH known_hosts format). Approve new keys in Settings.\n");
        foreach (var (pattern, key) in known.OrderBy(k => k.Key, StringComparer.Ordinal))
        {
            text.Append(pattern).Append(' ').Append(key.KeyType).Append(' ').Append(key.KeyBase64).Append('\n');
        }

        return text.ToString();
    }

    private static string HostPattern(string host, int port) =>
        port == 22 ? host : string.Create(CultureInfo.InvariantCulture, $"[{host}]:{port}");
}
