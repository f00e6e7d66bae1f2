namespace SparkControl.Benchmarks;

/// <summary>How the harnesses mark a target met or missed on their pass/fail lines.</summary>
internal static class Verdict
{
    public static string Of(bool met) => met ? "PASS" : "FAIL";
}
