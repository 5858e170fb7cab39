"""Shadow scoring (#13): every application the champion decides is also scored by the challenger, and both results
are logged in the kept table `shadow_scores`, so that a challenger is judged on the lender's own traffic before it
is promoted. Only the champion's answer is ever returned; a failing challenger never fails it.

- scoring.shadow.challenger: which challenger a models folder has, verified, with the policy on its grades;
- scoring.shadow.rows: the challenger's PD, grade and outcome beside the champion's, as table rows;
- scoring.shadow.log: writing and counting those rows (portable SQL through the store's kept-table writer);
- scoring.shadow.run: the rows of a batch or of a store generation, collected chunk by chunk;
- scoring.shadow.compare: agreement, swap set, mean PD and AUC per day, week or month (`models compare`).
"""

from __future__ import annotations

from scoring.shadow.compare import PERIODS, compare

__all__ = ["PERIODS", "compare"]
