from tests.services.test_retention_service import *
def test_dbg(workforce, make_user):
    import time
    from hrpipeline.services.retention import retention_report
    t=time.time()
    report = retention_report(make_user("hr_manager", ["ANT"]), "ANT")
    print("TIME", time.time()-t)
    for r in report.turnover:
        if r["group"]=="all": print(r["period"], r["headcount_start"], r["headcount_end"], r["leavers"], r["turnover"])
    import cProfile, pstats
    from hrpipeline.services import retention
    retention._reports.clear()
    cProfile.runctx("retention_report(make_user('hr_manager', ['ANT']), 'ANT')", globals(), locals(), "/tmp/retention/p2.out")
    pstats.Stats("/tmp/retention/p2.out").sort_stats("cumulative").print_stats(40)
